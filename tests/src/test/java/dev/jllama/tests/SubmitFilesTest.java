package dev.jllama.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.apache.spark.SparkConf;
import org.apache.spark.resource.ResourceDiscoveryScriptPlugin;
import org.apache.spark.resource.ResourceID;
import org.apache.spark.resource.ResourceInformation;
import org.apache.spark.resource.ResourceRequest;
import org.apache.spark.util.Utils;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import scala.jdk.javaapi.CollectionConverters;

/**
 * The launch files under submit/cluster that cannot run here (Kubernetes, GPUs under YARN or standalone): the
 * spark-submit lines they render (LLAMA_DRY_RUN=1), the TornadoVM flags rendered from an SDK, the pod template,
 * the image's build context, and the GPU discovery script as Spark's own discovery code runs it.
 */
class SubmitFilesTest {
    static final Path CLUSTER = ApplicationJar.ROOT.resolve("submit/cluster");
    static final Path LOG4J2 = ApplicationJar.ROOT.resolve("submit/conf/log4j2.properties");

    @TempDir
    static Path work;

    @BeforeAll
    static void built() {
        ApplicationJar.assumeBuilt(); // the launch files refuse to render without the application jar
    }

    record Run(int status, String out, String err) {}

    static Run runScript(Map<String, String> env, String... command) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().remove("TORNADOVM_HOME");
        pb.environment().remove("SPARK_SUBMIT");
        pb.environment().putAll(env);
        Path out = Files.createTempFile(work, "out", ".txt"), err = Files.createTempFile(work, "err", ".txt");
        Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(String.join(" ", command) + " ran for more than 60 s");
        }
        return new Run(p.exitValue(), Files.readString(out), Files.readString(err));
    }

    /** The spark-submit command a launch file renders, one argument per element (its first is spark-submit). */
    static List<String> render(String launcher, Map<String, String> settings, String... trainArgs) throws Exception {
        Map<String, String> env = new HashMap<>(settings);
        env.put("LLAMA_DRY_RUN", "1");
        env.put("SPARK_HOME", "/opt/spark");
        List<String> command = new ArrayList<>(List.of(CLUSTER.resolve(launcher).toString()));
        command.addAll(List.of(trainArgs));
        Run run = runScript(env, command.toArray(String[]::new));
        assertEquals(0, run.status(), launcher + ": " + run.err());
        return List.of(run.out().split("\n"));
    }

    /** The values of every {@code --conf key=value}, and of the other options, by key. */
    static Map<String, String> settings(List<String> args) {
        Map<String, String> settings = new HashMap<>();
        for (int i = 1; i < args.size() - 1; i++) {
            String arg = args.get(i);
            if (arg.equals("--conf")) {
                String kv = args.get(++i);
                settings.put(kv.substring(0, kv.indexOf('=')), kv.substring(kv.indexOf('=') + 1));
            } else if (arg.startsWith("--")) {
                settings.put(arg, args.get(++i));
            } else {
                break; // the application jar: what follows is train's
            }
        }
        return settings;
    }

    /** A JVM option string split as Spark splits spark.executor.extraJavaOptions. */
    static List<String> javaOptions(String options) {
        return CollectionConverters.asJava(Utils.splitCommandString(options));
    }

    static List<String> jvmFlags() throws IOException {
        return Files.readAllLines(ApplicationJar.ROOT.resolve("submit/conf/jvm-flags")).stream()
                .filter(line -> !line.isBlank()).toList();
    }

    /** The part of the command after the application jar: {@code train} and its arguments. */
    static List<String> applicationArgs(List<String> args, String jar) {
        int at = args.indexOf(jar);
        assertTrue(at > 0, "no application jar " + jar + " in " + args);
        return args.subList(at + 1, args.size());
    }

    @Test
    void standaloneRendersTheClusterSettings() throws Exception {
        List<String> args = render("standalone.sh", Map.of("SPARK_MASTER", "spark://master:7077", "EXECUTORS", "4",
                "EXECUTOR_CORES", "6"), "--data", "hdfs://nn:8020/data/c", "--out", "hdfs://nn:8020/runs/a");
        assertEquals("/opt/spark/bin/spark-submit", args.get(0));
        Map<String, String> s = settings(args);
        assertEquals("dev.jllama.cli.Main", s.get("--class"));
        assertEquals("spark://master:7077", s.get("--master"));
        assertEquals("client", s.get("--deploy-mode"));
        assertEquals("24", s.get("--total-executor-cores"));
        assertEquals("4", s.get("spark.executor.instances"));
        assertEquals("1", s.get("spark.executor.resource.gpu.amount"));
        assertEquals("1", s.get("spark.task.resource.gpu.amount"));
        List<String> executor = javaOptions(s.get("spark.executor.extraJavaOptions"));
        assertTrue(executor.containsAll(jvmFlags()), executor.toString());
        assertTrue(executor.contains("-Dlog4j2.configurationFile=" + LOG4J2), executor.toString());
        List<String> driver = javaOptions(s.get("--driver-java-options"));
        assertTrue(driver.containsAll(jvmFlags()) && driver.contains("-Dlog4j2.configurationFile=" + LOG4J2), driver.toString());
        assertTrue(Files.isRegularFile(LOG4J2));
        assertFalse(executor.stream().anyMatch(o -> o.contains("tornado")), "no TornadoVM flags without an SDK");
        assertEquals(List.of("train", "--data", "hdfs://nn:8020/data/c", "--out", "hdfs://nn:8020/runs/a"),
                applicationArgs(args, ApplicationJar.PATH.toString()));
    }

    @Test
    void yarnShipsTheDiscoveryScriptAndAsksForGpus() throws Exception {
        Map<String, String> s = settings(render("yarn.sh", Map.of("QUEUE", "research")));
        assertEquals("yarn", s.get("--master"));
        assertEquals("research", s.get("--queue"));
        assertEquals("2", s.get("--num-executors"));
        // Spark turns the gpu resource into YARN's yarn.io/gpu (spark.yarn.resourceGpuDeviceName's default).
        assertEquals("1", s.get("spark.executor.resource.gpu.amount"));
        assertEquals("1", s.get("spark.task.resource.gpu.amount"));
        assertEquals("./discover-gpus.sh", s.get("spark.executor.resource.gpu.discoveryScript"));
        List<String> files = List.of(s.get("--files").split(","));
        assertTrue(files.contains(CLUSTER.resolve("discover-gpus.sh").toString()), files.toString());
        assertTrue(files.contains(LOG4J2.toString()), files.toString());
        for (String file : files) assertTrue(Files.isRegularFile(Path.of(file)), file);
        assertTrue(javaOptions(s.get("spark.executor.extraJavaOptions"))
                .contains("-Dlog4j2.configurationFile=log4j2.properties"), "the shipped copy, in the container's directory");

        Map<String, String> cpu = settings(render("yarn.sh", Map.of("GPUS", "0")));
        assertFalse(cpu.containsKey("spark.executor.resource.gpu.amount"), cpu.toString());
        assertFalse(cpu.get("--files").contains("discover-gpus.sh"), cpu.get("--files"));
    }

    @Test
    void aJdkArchiveTravelsWithTheJobAndExecutorsAreToldWhereTheirJavaIs() throws Exception {
        // A JDK's own tarball keeps its files under a folder named for the release; JAVA_HOME must name that folder.
        Path jdk = Files.createDirectories(work.resolve("unpacked/jdk-25.0.1+9/bin"));
        Files.writeString(jdk.resolve("java"), "");
        Path tarball = work.resolve("jdk-25.tar.gz");
        Run tar = runScript(Map.of(), "tar", "-C", work.resolve("unpacked").toString(), "-czf", tarball.toString(), ".");
        assertEquals(0, tar.status(), tar.err());
        Map<String, String> shipped = settings(render("yarn.sh", Map.of("JDK", tarball.toString())));
        assertEquals(tarball + "#jdk", shipped.get("--archives"));
        assertEquals("./jdk/jdk-25.0.1+9", shipped.get("spark.executorEnv.JAVA_HOME"));
        assertEquals("./jdk/jdk-25.0.1+9", shipped.get("spark.yarn.appMasterEnv.JAVA_HOME"));

        Path zip = work.resolve("jdk-25.zip");
        try (ZipOutputStream out = new ZipOutputStream(Files.newOutputStream(zip))) {
            out.putNextEntry(new ZipEntry("bin/java"));
            out.closeEntry();
        }
        Map<String, String> named = settings(render("yarn.sh", Map.of("JDK", zip + "#j25")));
        assertEquals(zip + "#j25", named.get("--archives"));
        assertEquals("./j25", named.get("spark.executorEnv.JAVA_HOME"));

        Map<String, String> none = settings(render("yarn.sh", Map.of()));
        assertFalse(none.containsKey("--archives") || none.containsKey("spark.executorEnv.JAVA_HOME"), none.toString());
        Run missing = runScript(Map.of("LLAMA_DRY_RUN", "1", "SPARK_HOME", "/opt/spark", "JDK", "/nowhere/jdk-25"),
                CLUSTER.resolve("yarn.sh").toString());
        assertEquals(1, missing.status());
        assertEquals("jllama: JDK=/nowhere/jdk-25 is not there", missing.err().strip());

        Map<String, String> standalone = settings(render("standalone.sh", Map.of("SPARK_MASTER", "spark://m:7077",
                "EXECUTOR_JAVA_HOME", "/opt/jdk-25")));
        assertEquals("/opt/jdk-25", standalone.get("spark.executorEnv.JAVA_HOME"));
    }

    @Test
    void theDriverRefusesTooOldAJavaAndTheFlagsStartJava17() throws Exception {
        Path java17 = YarnTrainingTest.JAVA_17;
        Assumptions.assumeTrue(Files.isExecutable(java17.resolve("bin/java")), () -> "no Java 17 at " + java17);
        Run old = runScript(Map.of("SPARK_SUBMIT", "/bin/true", "JAVA_HOME", java17.toString()),
                CLUSTER.resolve("yarn.sh").toString());
        assertEquals(1, old.status(), old.out());
        assertTrue(old.err().strip().matches("jllama: the driver needs Java 25 and " + Pattern.quote(java17 + "/bin/java")
                + " is openjdk version \"17\\..*: set JAVA_HOME to a JDK 25 here .*"), old.err());
        // An executor on Java 17 must start, with the flags every launch file gives it, to say that it is too old.
        List<String> command = new ArrayList<>(List.of(java17.resolve("bin/java").toString()));
        command.addAll(jvmFlags());
        command.add("-version");
        Run flags = runScript(Map.of(), command.toArray(String[]::new));
        assertEquals(0, flags.status(), flags.err());
    }

    @Test
    void tornadoFlagsAreRenderedFromTheSdkWithoutLog4jOrDot() throws Exception {
        Path sdk = fakeTornadoSdk();
        Path backend = fakeBackendJar();
        Map<String, String> s = settings(render("standalone.sh",
                Map.of("TORNADOVM_HOME", sdk.toString(), "TORNADO_BACKEND_JAR", backend.toString())));
        List<String> executor = javaOptions(s.get("spark.executor.extraJavaOptions"));
        String modulePath = executor.get(executor.indexOf("--module-path") + 1);
        assertEquals(List.of(sdk + "/share/java/tornado/tornado-api-5.2.0-jdk25.jar",
                sdk + "/share/java/tornado/tornado-runtime-5.2.0-jdk25.jar"), List.of(modulePath.split(":")));
        assertTrue(executor.contains("-Djava.library.path=" + sdk + "/lib"), executor.toString());
        assertTrue(executor.contains("--enable-preview") && executor.containsAll(jvmFlags()), executor.toString());
        assertFalse(executor.stream().anyMatch(o -> o.startsWith("#")), "comments of the template are left out");
        assertEquals(backend.toString(), s.get("--jars"));
        assertFalse(s.get("--driver-java-options").contains("tornado"), "the driver runs no backend");

        // Without a backend jar built for the SDK, the launcher refuses and says how to build it.
        Run missing = runScript(Map.of("LLAMA_DRY_RUN", "1", "SPARK_HOME", "/opt/spark", "TORNADOVM_HOME", sdk.toString(),
                "TORNADO_BACKEND_JAR", work.resolve("absent.jar").toString()), CLUSTER.resolve("yarn.sh").toString());
        assertEquals(1, missing.status());
        assertTrue(missing.err().contains("absent.jar has no TornadoVM backend") && missing.err().contains("./mvnw"),
                missing.err());
    }

    /**
     * The executors' TornadoVM device memory (JLLAMA_TORNADO_MEMORY_MIB) reaches them with TornadoVM's own cap raised
     * to match; unset, neither is passed (the backend's default rules); a value that is not MiB is refused.
     */
    @Test
    void tornadoDeviceMemoryReachesTheExecutorsWithTornadosCap() throws Exception {
        Path backend = fakeBackendJar();
        Map<String, String> sdk = Map.of("TORNADOVM_HOME", fakeTornadoSdk().toString(),
                "TORNADO_BACKEND_JAR", backend.toString());
        List<String> expected = List.of("-Djllama.tornado.memoryMiB=20000", "-Dtornado.device.memory=21024MB");
        Map<String, String> withSdk = new HashMap<>(sdk);
        withSdk.put("JLLAMA_TORNADO_MEMORY_MIB", "20000");
        Map<String, String> yarn = settings(render("yarn.sh", withSdk));
        assertTrue(javaOptions(yarn.get("spark.executor.extraJavaOptions")).containsAll(expected),
                yarn.get("spark.executor.extraJavaOptions"));
        assertFalse(yarn.get("--driver-java-options").contains("tornado"), "the driver runs no backend");

        Map<String, String> k8s = settings(render("kubernetes.sh", Map.of("JLLAMA_TORNADO_MEMORY_MIB", "20000")));
        assertTrue(javaOptions(k8s.get("spark.executor.extraJavaOptions")).containsAll(expected),
                k8s.get("spark.executor.extraJavaOptions"));
        Map<String, String> k8sCpu = settings(render("kubernetes.sh", Map.of("GPUS", "0")));
        assertFalse(k8sCpu.get("spark.executor.extraJavaOptions").contains("tornado"), "no backend");

        Map<String, String> defaults = settings(render("standalone.sh", sdk));
        assertTrue(javaOptions(defaults.get("spark.executor.extraJavaOptions")).stream().noneMatch(
                o -> o.startsWith("-Djllama.tornado.memoryMiB") || o.startsWith("-Dtornado.device.memory")),
                defaults.get("spark.executor.extraJavaOptions"));

        Map<String, String> bad = new HashMap<>(withSdk);
        bad.put("JLLAMA_TORNADO_MEMORY_MIB", "8g");
        bad.put("LLAMA_DRY_RUN", "1");
        bad.put("SPARK_HOME", "/opt/spark");
        Run refused = runScript(bad, CLUSTER.resolve("yarn.sh").toString());
        assertEquals(1, refused.status());
        assertTrue(refused.err().contains("JLLAMA_TORNADO_MEMORY_MIB must be a whole number of MiB, got '8g'"),
                refused.err());
        assertEquals("", refused.out());
    }

    /** A jar the launch files take for the TornadoVM backend's: it holds the backend's class. */
    static Path fakeBackendJar() throws IOException {
        Path backend = work.resolve("jllama-tornado-kernels.jar");
        try (ZipOutputStream zip = new ZipOutputStream(Files.newOutputStream(backend))) {
            zip.putNextEntry(new ZipEntry("dev/jllama/tornado/TornadoBackend.class"));
            zip.closeEntry();
        }
        return backend;
    }

    /** An SDK's layout: the argfile template (as 5.2.0-jdk25's, shortened), its jars with Log4j2's among them. */
    static Path fakeTornadoSdk() throws IOException {
        Path sdk = work.resolve("tornadovm-sdk");
        Path jars = Files.createDirectories(sdk.resolve("share/java/tornado"));
        for (String jar : List.of("tornado-api-5.2.0-jdk25.jar", "tornado-runtime-5.2.0-jdk25.jar",
                "log4j-api-2.17.1.jar", "log4j-core-2.25.4.jar")) {
            Files.write(jars.resolve(jar), new byte[0]);
        }
        Files.createDirectories(sdk.resolve("lib"));
        Files.writeString(sdk.resolve("tornado-argfile.template"), """
                # === JVM mode and memory settings ===
                -server
                -XX:+EnableJVMCI
                --enable-preview

                # === Native library path ===
                -Djava.library.path=${TORNADOVM_HOME}/lib

                # === Module system ===
                --module-path .:${TORNADOVM_HOME}/share/java/tornado
                --upgrade-module-path ${TORNADOVM_HOME}/share/java/graalJars
                --add-modules ALL-SYSTEM,tornado.runtime,tornado.annotation,tornado.drivers.common,tornado.drivers.opencl
                --add-exports=jdk.internal.vm.ci/jdk.vm.ci.meta=tornado.runtime
                """);
        return sdk;
    }

    @Test
    void kubernetesUsesTheImageAndThePodTemplate() throws Exception {
        List<String> args = render("kubernetes.sh", Map.of("K8S_MASTER", "k8s://https://api:6443",
                "IMAGE", "registry.example.com/jllama:1", "NAMESPACE", "training"), "--data", "hdfs://nn:8020/d");
        Map<String, String> s = settings(args);
        assertEquals("k8s://https://api:6443", s.get("--master"));
        assertEquals("cluster", s.get("--deploy-mode"));
        assertEquals("registry.example.com/jllama:1", s.get("spark.kubernetes.container.image"));
        assertEquals("training", s.get("spark.kubernetes.namespace"));
        assertEquals("nvidia.com", s.get("spark.executor.resource.gpu.vendor"));
        assertEquals("1", s.get("spark.executor.resource.gpu.amount"));
        assertEquals("1", s.get("spark.task.resource.gpu.amount"));
        assertEquals(List.of("train", "--data", "hdfs://nn:8020/d"),
                applicationArgs(args, "local:///opt/jllama/jllama-spark-app.jar"));

        // The pod template: a Pod whose container Spark fills in asks for one NVIDIA GPU.
        Path template = Path.of(s.get("spark.kubernetes.executor.podTemplateFile"));
        JsonNode pod = new ObjectMapper(new YAMLFactory()).readTree(template.toFile());
        assertEquals("Pod", pod.path("kind").asText());
        assertEquals("v1", pod.path("apiVersion").asText());
        JsonNode container = pod.path("spec").path("containers").get(0);
        assertEquals(s.get("spark.kubernetes.executor.podTemplateContainerName"), container.path("name").asText());
        assertEquals(1, container.path("resources").path("limits").path("nvidia.com/gpu").asInt());

        // Every file the launch line names inside the image is one the image gets (see imageContext...).
        List<String> inImage = new ArrayList<>(List.of("/opt/jllama/jllama-spark-app.jar",
                s.get("spark.executor.resource.gpu.discoveryScript"), s.get("--jars").substring("local://".length())));
        for (String option : javaOptions(s.get("spark.executor.extraJavaOptions"))) {
            if (option.startsWith("@")) inImage.add(option.substring(1));
            if (option.startsWith("-Dlog4j2.configurationFile=")) inImage.add(option.substring(option.indexOf('=') + 1));
        }
        assertEquals(5, inImage.size(), inImage.toString());
        Path context = stageImageContext();
        for (String path : inImage) {
            assertTrue(path.startsWith("/opt/jllama/"), path);
            String inContext = "jllama/" + path.substring("/opt/jllama/".length());
            assertTrue(Files.exists(context.resolve(inContext)) || renderedInImage(context, path),
                    path + " is neither in the image's context (" + inContext + ") nor rendered by the Dockerfile");
        }
    }

    /** True where the Dockerfile runs tornado-argfile.sh to write {@code path}. */
    private static boolean renderedInImage(Path context, String path) throws IOException {
        return Files.readString(context.resolve("Dockerfile"))
                .contains("/opt/jllama/tornado-argfile.sh /opt/tornadovm " + path + " ");
    }

    /**
     * build-image.sh stages the Dockerfile's context from a Spark distribution and an SDK (here: their layouts),
     * and every COPY source of the Dockerfile is in it; the base image is Temurin's JDK 25; the entrypoint is the
     * Spark distribution's Kubernetes entrypoint.
     */
    @Test
    void imageContextHoldsEveryCopiedPath() throws Exception {
        Path context = stageImageContext();
        String dockerfile = Files.readString(context.resolve("Dockerfile"));
        Matcher from = Pattern.compile("(?m)^FROM (\\S+)").matcher(dockerfile);
        assertTrue(from.find() && from.group(1).startsWith("eclipse-temurin:25-jdk"), dockerfile);
        Matcher copy = Pattern.compile("(?m)^COPY (\\S+) (\\S+)$").matcher(dockerfile);
        Map<String, String> copied = new HashMap<>();
        while (copy.find()) {
            assertTrue(Files.exists(context.resolve(copy.group(1))), "COPY source " + copy.group(1) + " not in the context");
            copied.put(copy.group(2), copy.group(1));
        }
        assertEquals(3, copied.size(), dockerfile);
        Matcher entrypoint = Pattern.compile("(?m)^ENTRYPOINT \\[\"/opt/spark/(\\S+)\"\\]$").matcher(dockerfile);
        assertTrue(entrypoint.find(), dockerfile);
        assertTrue(Files.isExecutable(context.resolve(copied.get("/opt/spark/")).resolve(entrypoint.group(1))));
        for (String file : List.of("jllama-spark-app.jar", "jllama-tornado-kernels.jar", "discover-gpus.sh",
                "tornado-argfile.sh", "conf/log4j2.properties", "conf/jvm-flags")) {
            assertTrue(Files.isRegularFile(context.resolve("jllama").resolve(file)), file);
        }
    }

    private static Path stageImageContext() throws Exception {
        Path spark = work.resolve("spark-4.2.0-bin-hadoop3");
        Path entrypoint = spark.resolve("kubernetes/dockerfiles/spark/entrypoint.sh");
        Files.createDirectories(entrypoint.getParent());
        Files.writeString(entrypoint, "#!/bin/bash\n");
        Files.setPosixFilePermissions(entrypoint, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.createDirectories(spark.resolve("jars"));
        Path backend = work.resolve("jllama-tornado-kernels-for-image.jar");
        try (OutputStream out = Files.newOutputStream(backend)) {
            out.write("a jar".getBytes(StandardCharsets.UTF_8));
        }
        Run run = runScript(Map.of("LLAMA_DRY_RUN", "1", "SPARK_DIST", spark.toString(),
                "TORNADOVM_HOME", fakeTornadoSdk().toString(), "TORNADO_BACKEND_JAR", backend.toString()),
                CLUSTER.resolve("kubernetes/build-image.sh").toString(), "registry.example.com/jllama:1");
        assertEquals(0, run.status(), run.err());
        List<String> docker = Arrays.asList(run.out().strip().split("\n"));
        assertEquals(List.of("docker", "build", "--tag", "registry.example.com/jllama:1"), docker.subList(0, 4));
        return Path.of(docker.get(4));
    }

    /** The discovery script run by Spark's own discovery code, with a stand-in nvidia-smi. */
    @Test
    void discoveryScriptOutputIsWhatSparkParses() throws Exception {
        assertEquals(List.of("0", "1"), discover("printf '0\\n1\\n'"));
        assertEquals(List.of("3"), discover("echo ' 3'"));
        assertEquals(List.of(), discover("echo 'No devices were found'; exit 6"));
        assertEquals(List.of(), discover(""));

        assertThrows(Exception.class, () -> discover("echo 'NVIDIA-SMI has failed' >&2; exit 9"));
        Run failing = runDiscovery(fakeNvidiaSmi("echo 'NVIDIA-SMI has failed' >&2; exit 9").toString());
        assertEquals(1, failing.status());
        assertTrue(failing.err().contains("failed (exit 9)") && failing.err().contains("NVIDIA-SMI has failed"), failing.err());
        Run missing = runDiscovery(work.resolve("no-such-dir/nvidia-smi").toString());
        assertEquals(1, missing.status());
        assertTrue(missing.err().contains("not found"), missing.err());
        assertEquals("", missing.out());
    }

    private static List<String> discover(String nvidiaSmiBody) throws IOException {
        Path smi = fakeNvidiaSmi(nvidiaSmiBody);
        // What an executor runs: the discovery script named by spark.executor.resource.gpu.discoveryScript.
        Path script = work.resolve("discover-" + smi.getParent().getFileName() + ".sh");
        Files.writeString(script, "#!/bin/sh\nNVIDIA_SMI='" + smi + "' exec '" + CLUSTER.resolve("discover-gpus.sh") + "'\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        ResourceRequest request = new ResourceRequest(new ResourceID("spark.executor", "gpu"), 1,
                Optional.of(script.toString()), Optional.empty());
        ResourceInformation gpus = new ResourceDiscoveryScriptPlugin().discoverResource(request, new SparkConf())
                .orElseThrow();
        assertEquals("gpu", gpus.name());
        return List.of(gpus.addresses());
    }

    private static Run runDiscovery(String nvidiaSmi) throws Exception {
        return runScript(Map.of("NVIDIA_SMI", nvidiaSmi), CLUSTER.resolve("discover-gpus.sh").toString());
    }

    private static Path fakeNvidiaSmi(String body) throws IOException {
        Path dir = Files.createTempDirectory(work, "smi");
        Path smi = dir.resolve("nvidia-smi");
        Files.writeString(smi, "#!/bin/sh\n[ \"$*\" = '--query-gpu=index --format=csv,noheader' ] || exit 2\n" + body + "\n");
        Files.setPosixFilePermissions(smi, PosixFilePermissions.fromString("rwxr-xr-x"));
        return smi;
    }
}
