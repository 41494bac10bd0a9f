package dev.jllama.tests;

import static dev.jllama.tests.DistributedEquivalenceTest.assertSameTraining;
import static dev.jllama.tests.DistributedEquivalenceTest.run;
import static dev.jllama.tests.TrainRuns.train;
import static org.junit.jupiter.api.Assertions.assertEquals;

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
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.hadoop.yarn.conf.YarnConfiguration;
import org.apache.hadoop.yarn.server.MiniYARNCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code submit/cluster/yarn.sh} submits {@code llama train} to a MiniYARNCluster (a ResourceManager and a
 * NodeManager in this JVM; the application master and two executors in container processes), as on a cluster:
 * spark-submit from a Spark installation starts the driver in client mode with the application jar that spark-app
 * packages, Spark's own jars are already on the nodes ({@code spark.yarn.jars} with {@code local:} paths), and the
 * executors load this project's classes only from the application jar. The run must equal one local rank
 * accumulating both ranks' micro-batches.
 */
class YarnTrainingTest {
    @TempDir
    static Path work;
    static MiniYARNCluster yarn;

    @BeforeAll
    static void start() {
        ApplicationJar.assumeBuilt();
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
    void twoExecutorsOnYarnEqualOneLocalRank() throws Exception {
        String data = TrainRuns.bundledData();
        String reference = work.resolve("reference").toString();
        train(run(data, reference, 1, 4, 2));

        String out = work.resolve("yarn").toString();
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
        String[] trainArgs = run(data, out, 2, 4, 2, extra.toArray(String[]::new));
        List<String> command = new ArrayList<>(List.of(ApplicationJar.ROOT.resolve("submit/cluster/yarn.sh").toString()));
        command.addAll(Arrays.asList(trainArgs).subList(1, trainArgs.length)); // yarn.sh says "train" itself
        ProcessBuilder submit = new ProcessBuilder(command).directory(work.toFile());
        Map<String, String> env = submit.environment();
        env.put("SPARK_HOME", sparkHome().toString());
        env.put("HADOOP_CONF_DIR", hadoopConfDir().toString());
        env.put("JAVA_HOME", System.getProperty("java.home"));
        env.put("EXECUTORS", "2");
        env.put("EXECUTOR_CORES", "1");
        env.put("EXECUTOR_MEMORY", "512m");
        env.put("DRIVER_MEMORY", "512m");
        env.put("GPUS", "0");
        env.remove("TORNADOVM_HOME");
        Path stdout = work.resolve("submit.out"), stderr = work.resolve("submit.err");
        Process process = submit.redirectOutput(stdout.toFile()).redirectError(stderr.toFile()).start();
        if (!process.waitFor(420, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("yarn.sh ran for more than 420 s; stderr:\n" + Files.readString(stderr));
        }
        String printed = Files.readString(stdout);
        assertEquals(0, process.exitValue(),
                "yarn.sh exit status; stderr:\n" + Files.readString(stderr) + "\nstdout:\n" + printed);
        String[] lines = printed.strip().split("\n");
        JsonNode result = new ObjectMapper().readTree(lines[lines.length - 1]);
        assertEquals("yarn", result.get("master").asText(), result.toString());
        assertEquals(2, result.get("ranks").asInt(), result.toString());
        assertEquals("cpu", result.get("backend").asText(), result.toString());
        assertEquals(2, result.get("hosts").size(), result.toString());
        assertSameTraining(reference, out);
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
     * conf/spark-defaults.conf (Spark's jars already on every node, small containers for this machine), and a
     * bin/spark-submit that, like the distribution's, has Spark's launcher build the java command line.
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
        String javaHome = System.getProperty("java.home");
        Files.writeString(home.resolve("conf/spark-defaults.conf"), String.join("\n",
                "spark.yarn.jars local:" + jars + "/*",
                "spark.yarn.stagingDir " + work.resolve("staging").toUri(),
                "spark.yarn.am.memory 256m",
                "spark.yarn.am.memoryOverhead 256m",
                "spark.executor.memoryOverhead 256m",
                // Containers start with the NodeManager's environment: name this JVM's JDK 25.
                "spark.yarn.appMasterEnv.JAVA_HOME " + javaHome,
                "spark.executorEnv.JAVA_HOME " + javaHome,
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
