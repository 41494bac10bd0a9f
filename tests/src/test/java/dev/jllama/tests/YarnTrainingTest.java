package dev.jllama.tests;

import static dev.jllama.tests.DistributedEquivalenceTest.assertSameTraining;
import static dev.jllama.tests.DistributedEquivalenceTest.run;
import static dev.jllama.tests.TrainRuns.train;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.hadoop.util.Shell;
import org.apache.hadoop.yarn.api.records.Resource;
import org.apache.hadoop.yarn.conf.YarnConfiguration;
import org.apache.hadoop.yarn.server.MiniYARNCluster;
import org.apache.hadoop.yarn.server.nodemanager.ContainerExecutor;
import org.apache.hadoop.yarn.server.nodemanager.DefaultContainerExecutor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code submit/cluster/yarn.sh} submits {@code llama train} to a MiniYARNCluster (a ResourceManager and a
 * NodeManager in this JVM; the application master and two executors in container processes), as on a cluster:
 * spark-submit from a Spark installation starts the driver in client mode with the application jar that spark-app
 * packages, Spark's own jars are already on the nodes ({@code spark.yarn.jars} with {@code local:} paths), and the
 * executors load this project's classes only from the application jar. The NodeManager's Java is 17, Spark 4's
 * floor, as on most clusters: the job brings its JDK 25 ({@code JDK=}), and the run must equal one local rank
 * accumulating both ranks' micro-batches; without it, it fails with one line saying so.
 */
class YarnTrainingTest {
    /** A Java 17 on this machine (Debian's package), the NodeManager's Java; -Djllama.java17 names another. */
    static final Path JAVA_17 = Path.of(System.getProperty("jllama.java17", "/usr/lib/jvm/java-17-openjdk-amd64"));

    @TempDir
    static Path work;
    static MiniYARNCluster yarn;

    /**
     * Starts containers as a NodeManager whose own JAVA_HOME is {@link #JAVA_17} would: the launch script takes
     * JAVA_HOME from the process environment unless the application set one (yarn.nodemanager.env-whitelist). This
     * JVM's environment names the JDK 25 the build runs on, so it is replaced for the container's process only.
     */
    public static final class Java17Node extends DefaultContainerExecutor {
        @Override
        protected Shell.CommandExecutor buildCommandExecutor(String wrapperScriptPath, String containerIdStr,
                String user, org.apache.hadoop.fs.Path pidFile, Resource resource, File workDir,
                Map<String, String> environment, String[] numaCommands) {
            Map<String, String> nodeEnvironment = new HashMap<>(environment == null ? Map.of() : environment);
            nodeEnvironment.put("JAVA_HOME", JAVA_17.toString());
            return super.buildCommandExecutor(wrapperScriptPath, containerIdStr, user, pidFile, resource, workDir,
                    nodeEnvironment, numaCommands);
        }
    }

    @BeforeAll
    static void start() {
        ApplicationJar.assumeBuilt();
        assumeTrue(Files.isExecutable(JAVA_17.resolve("bin/java")), () -> "no Java 17 at " + JAVA_17
                + " for the NodeManager (-Djllama.java17=/path/to/jdk-17 names one)");
        YarnConfiguration conf = new YarnConfiguration();
        // Small containers: the AM and two executors ask for 1.5 GiB in all; vmem/pmem checks would kill JVMs
        // whose reserved address space exceeds that.
        conf.setInt(YarnConfiguration.RM_SCHEDULER_MINIMUM_ALLOCATION_MB, 64);
        conf.setInt(YarnConfiguration.NM_PMEM_MB, 4096);
        conf.setInt(YarnConfiguration.NM_VCORES, 4);
        conf.setBoolean(YarnConfiguration.NM_PMEM_CHECK_ENABLED, false);
        conf.setBoolean(YarnConfiguration.NM_VMEM_CHECK_ENABLED, false);
        conf.set("yarn.nodemanager.disk-health-checker.max-disk-utilization-per-disk-percentage", "100.0");
        conf.set(YarnConfiguration.RM_HOSTNAME, "127.0.0.1");
        // hadoop-client-minicluster ships no capacity-scheduler.xml: one queue takes everything.
        conf.set("yarn.scheduler.capacity.root.queues", "default");
        conf.setInt("yarn.scheduler.capacity.root.default.capacity", 100);
        conf.setInt("yarn.scheduler.capacity.root.default.maximum-capacity", 100);
        conf.set("yarn.scheduler.capacity.root.default.state", "RUNNING");
        conf.set("yarn.scheduler.capacity.root.default.acl_submit_applications", "*");
        conf.setInt("yarn.scheduler.capacity.node-locality-delay", -1);
        conf.setClass(YarnConfiguration.NM_CONTAINER_EXECUTOR, Java17Node.class, ContainerExecutor.class);
        yarn = new MiniYARNCluster(YarnTrainingTest.class.getSimpleName(), 1, 1, 1);
        yarn.init(conf);
        yarn.start();
        // start() may return before the ResourceManager has written its bound port into the configuration.
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (yarn.getConfig().get(YarnConfiguration.RM_ADDRESS).endsWith(":0")) {
            if (System.nanoTime() > deadline) throw new IllegalStateException("the ResourceManager never bound its port");
            Thread.onSpinWait();
        }
    }

    @AfterAll
    static void stop() {
        if (yarn != null) yarn.stop();
    }

    @Test
    void twoExecutorsOnJava17NodesWithTheJobsJdkEqualOneLocalRank() throws Exception {
        String data = TrainRuns.bundledData();
        String reference = work.resolve("reference").toString();
        train(run(data, reference, 1, 4, 2));

        String out = work.resolve("yarn").toString();
        // The JDK this JVM runs on, as a folder: yarn.sh packs it and ships it with the job.
        Submitted submitted = submit(out, Map.of("JDK", System.getProperty("java.home")));
        assertEquals(0, submitted.status(), "yarn.sh exit status; " + submitted);
        String[] lines = submitted.stdout().strip().split("\n");
        JsonNode result = new ObjectMapper().readTree(lines[lines.length - 1]);
        assertEquals("yarn", result.get("master").asText(), result.toString());
        assertEquals(2, result.get("ranks").asInt(), result.toString());
        assertEquals("cpu", result.get("backend").asText(), result.toString());
        assertEquals(2, result.get("hosts").size(), result.toString());
        assertSameTraining(reference, out);
    }

    @Test
    void withoutAJdkExecutorsOnJava17FailWithOneLine() throws Exception {
        Submitted submitted = submit(work.resolve("no-jdk").toString(), Map.of());
        assertNotEquals(0, submitted.status(), "yarn.sh without JDK on Java 17 nodes; " + submitted);
        List<String> failure = submitted.stderr().lines().filter(l -> l.startsWith("llama")).toList();
        assertEquals(1, failure.size(), "one line saying why; " + submitted);
        String line = failure.get(0);
        assertTrue(line.matches("llama train: executor \\d+ on \\S+ runs Java 17\\.\\S* \\(\\S+\\) and jllama needs Java 25"
                + " or later: .*"), line);
        assertTrue(line.contains("submit/cluster/yarn.sh: JDK=/path/to/jdk-25"), line);
        assertFalse((submitted.stdout() + submitted.stderr()).contains("UnsupportedClassVersionError"),
                "the executors stopped before they loaded jllama's classes; " + submitted);
    }

    /** What yarn.sh printed and its exit status. */
    record Submitted(int status, String stdout, String stderr) {
        @Override
        public String toString() {
            return "stderr:\n" + stderr + "\nstdout:\n" + stdout;
        }
    }

    /** Runs train's two-rank run through yarn.sh, its environment plus {@code env}. */
    private static Submitted submit(String out, Map<String, String> env) throws Exception {
        // YARN starts containers with its own environment: the OpenBLAS kernel this JVM was told to use (the
        // reference ran on it) is passed on explicitly, since another kernel rounds differently.
        // No web UI: Spark 4.2's UI start once failed here with a ConcurrentModificationException inside Jetty's
        // ServletHandler (a race while attaching handlers, on a machine at load 8); this test is about YARN.
        List<String> extra = new ArrayList<>(List.of("--backend", "cpu", "--conf", "spark.ui.enabled=false"));
        for (String variable : List.of("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")) {
            if (System.getenv(variable) != null) {
                extra.addAll(List.of("--conf", "spark.executorEnv." + variable + "=" + System.getenv(variable)));
            }
        }
        String[] trainArgs = run(TrainRuns.bundledData(), out, 2, 4, 2, extra.toArray(String[]::new));
        List<String> command = new ArrayList<>(List.of(ApplicationJar.ROOT.resolve("submit/cluster/yarn.sh").toString()));
        command.addAll(Arrays.asList(trainArgs).subList(1, trainArgs.length)); // yarn.sh says "train" itself
        ProcessBuilder submit = new ProcessBuilder(command).directory(work.toFile());
        Map<String, String> environment = submit.environment();
        environment.put("SPARK_HOME", sparkHome().toString());
        environment.put("HADOOP_CONF_DIR", hadoopConfDir().toString());
        environment.put("JAVA_HOME", System.getProperty("java.home")); // the driver's
        environment.put("EXECUTORS", "2");
        environment.put("EXECUTOR_CORES", "1");
        environment.put("EXECUTOR_MEMORY", "512m");
        environment.put("DRIVER_MEMORY", "512m");
        environment.put("GPUS", "0");
        environment.remove("TORNADOVM_HOME");
        environment.remove("JDK");
        environment.putAll(env);
        String name = Path.of(out).getFileName().toString();
        Path stdout = work.resolve(name + ".out"), stderr = work.resolve(name + ".err");
        Process process = submit.redirectOutput(stdout.toFile()).redirectError(stderr.toFile()).start();
        if (!process.waitFor(420, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("yarn.sh ran for more than 420 s; stderr:\n" + Files.readString(stderr));
        }
        return new Submitted(process.exitValue(), Files.readString(stdout), Files.readString(stderr));
    }

    /** The ResourceManager's configuration as a client's HADOOP_CONF_DIR holds it. */
    private static Path hadoopConfDir() throws IOException {
        Path dir = Files.createDirectories(work.resolve("hadoop-conf"));
        try (OutputStream out = Files.newOutputStream(dir.resolve("yarn-site.xml"))) {
            yarn.getConfig().writeXml(out);
        }
        return dir;
    }

    /**
     * A Spark installation as a cluster's edge node has one: jars/ (this JVM's Spark, Scala and Hadoop jars),
     * conf/spark-defaults.conf (Spark's jars already on every node, small containers for this machine, no Java of
     * its own: the containers get the NodeManager's), and a bin/spark-submit that, like the distribution's, has
     * Spark's launcher build the java command line.
     */
    private static Path sparkHome() throws IOException {
        // In target/, not the temporary folder: JUnit warns about every link it deletes.
        Path home = Path.of("target", "yarn-spark-home").toAbsolutePath();
        Path jars = Files.createDirectories(home.resolve("jars"));
        for (String jar : sparkJars()) {
            Path link = jars.resolve(Path.of(jar).getFileName());
            Files.deleteIfExists(link);
            Files.createSymbolicLink(link, Path.of(jar));
        }
        Files.createDirectories(home.resolve("conf"));
        Files.writeString(home.resolve("conf/spark-defaults.conf"), String.join("\n",
                "spark.yarn.jars local:" + jars + "/*",
                "spark.yarn.stagingDir " + work.resolve("staging").toUri(),
                "spark.yarn.am.memory 256m",
                "spark.yarn.am.memoryOverhead 256m",
                "spark.executor.memoryOverhead 256m",
                "spark.yarn.appMasterEnv.SPARK_LOCAL_IP 127.0.0.1",
                "spark.executorEnv.SPARK_LOCAL_IP 127.0.0.1", ""));
        Path submit = Files.createDirectories(home.resolve("bin")).resolve("spark-submit");
        Files.writeString(submit, """
                #!/usr/bin/env bash
                # Spark's launcher prints a NUL and a newline, then the command that runs SparkSubmit with these
                # arguments, NUL-separated.
                set -euo pipefail
                export SPARK_SCALA_VERSION=2.13   # as a distribution's load-spark-env.sh sets it
                command=()
                {
                  IFS= read -r -d '' ignored || true
                  IFS= read -r ignored || true
                  while IFS= read -r -d '' arg; do command+=("$arg"); done
                } < <(
                  "$JAVA_HOME/bin/java" -Xmx128m -cp "$SPARK_HOME/jars/*" org.apache.spark.launcher.Main \\
                    org.apache.spark.deploy.SparkSubmit "$@")
                if [[ ${#command[@]} -eq 0 ]]; then echo "spark-submit: Spark's launcher failed" >&2; exit 1; fi
                exec "${command[@]}"
                """);
        Files.setPosixFilePermissions(submit, PosixFilePermissions.fromString("rwxr-xr-x"));
        return home;
    }

    /** This JVM's class path less this project's own modules: Spark, Scala, Hadoop and their dependencies. */
    static List<String> sparkJars() {
        return Stream.of(System.getProperty("java.class.path").split(File.pathSeparator))
                .filter(entry -> entry.endsWith(".jar") && !Path.of(entry).getFileName().toString().startsWith("jllama-"))
                .filter(entry -> !entry.contains(File.separator + "dev" + File.separator + "jllama" + File.separator))
                .toList();
    }
}
