package dev.jllama.tests;

import static dev.jllama.tests.DistributedEquivalenceTest.assertSameTraining;
import static dev.jllama.tests.DistributedEquivalenceTest.run;
import static dev.jllama.tests.TrainRuns.train;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.hadoop.yarn.conf.YarnConfiguration;
import org.apache.hadoop.yarn.server.MiniYARNCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code llama train --master yarn} on a MiniYARNCluster (a ResourceManager and a NodeManager in this JVM, the
 * application master and two executors as container processes), as a YARN cluster runs the job: the driver here
 * in client mode, Spark's own jars already on the nodes ({@code spark.yarn.jars} with {@code local:} paths), and
 * the application jar that spark-app packages for spark-submit shipped to the executors, which load this
 * project's classes only from it. The run must equal one local rank accumulating both ranks' micro-batches.
 */
class YarnTrainingTest {
    @TempDir
    static Path work;
    static MiniYARNCluster yarn;

    @BeforeAll
    static void start() {
        ApplicationJar.assumeBuilt();
        YarnConfiguration conf = new YarnConfiguration();
        // Small containers: the AM and two executors fit in about 2 GiB of requests; real use is lower.
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
        List<String> args = new ArrayList<>(List.of(run(data, out, 2, 4, 2, "--backend", "cpu", "--master", "yarn")));
        for (Map.Entry<String, String> setting : yarnSettings().entrySet()) {
            args.add("--conf");
            args.add(setting.getKey() + "=" + setting.getValue());
        }
        JsonNode result = train(args.toArray(String[]::new));
        assertEquals("yarn", result.get("master").asText(), result.toString());
        assertEquals(2, result.get("ranks").asInt(), result.toString());
        assertEquals("cpu", result.get("backend").asText(), result.toString());
        assertEquals(2, result.get("hosts").size(), result.toString());
        assertSameTraining(reference, out);
    }

    /** What a YARN client takes from HADOOP_CONF_DIR and spark-defaults.conf, as Spark settings. */
    private static Map<String, String> yarnSettings() throws IOException {
        Map<String, String> settings = new java.util.TreeMap<>();
        // The cluster's configuration (ResourceManager addresses and the rest), as yarn-site.xml would give it.
        for (Map.Entry<String, String> entry : yarn.getConfig()) {
            settings.put("spark.hadoop." + entry.getKey(), entry.getValue());
        }
        settings.put("spark.executor.instances", "2");
        settings.put("spark.executor.cores", "1");
        settings.put("spark.executor.memory", "512m");
        settings.put("spark.executor.memoryOverhead", "256m");
        settings.put("spark.executor.minMemoryOverhead", "256m");
        settings.put("spark.yarn.am.memory", "256m");
        settings.put("spark.yarn.am.memoryOverhead", "256m");
        settings.put("spark.yarn.stagingDir", work.resolve("staging").toUri().toString());
        // Spark's jars are already on every node (local:), as a cluster's Spark installation puts them; this
        // project's classes reach the executors only through the application jar.
        settings.put("spark.yarn.jars", sparkJars().stream().map(jar -> "local:" + jar).collect(Collectors.joining(",")));
        settings.put("spark.jars", ApplicationJar.PATH.toString());
        // Containers start with the NodeManager's environment; this JVM's JDK is the one with the Vector API.
        String javaHome = System.getProperty("java.home");
        settings.put("spark.yarn.appMasterEnv.JAVA_HOME", javaHome);
        settings.put("spark.executorEnv.JAVA_HOME", javaHome);
        settings.put("spark.executorEnv.SPARK_LOCAL_IP", "127.0.0.1");
        settings.put("spark.yarn.appMasterEnv.SPARK_LOCAL_IP", "127.0.0.1");
        return settings;
    }

    /** This JVM's class path less this project's own modules: Spark, Scala, Hadoop and their dependencies. */
    static List<String> sparkJars() {
        return Stream.of(System.getProperty("java.class.path").split(File.pathSeparator))
                .filter(entry -> entry.endsWith(".jar") && !Path.of(entry).getFileName().toString().startsWith("jllama-"))
                .filter(entry -> !entry.contains(File.separator + "dev" + File.separator + "jllama" + File.separator))
                .toList();
    }
}
