package dev.jllama.tests;

import static dev.jllama.tests.DistributedEquivalenceTest.assertSameTraining;
import static dev.jllama.tests.DistributedEquivalenceTest.run;
import static dev.jllama.tests.TrainRuns.train;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code train --master <test hosts' URL>}: two ranks, each in its own test host, checkpointing to HDFS on the bridge
 * side, reached by every host over its link; one host is slow (its link at a quarter of the other's 1 Gbit/s). The run
 * equals one local rank accumulating the same micro-batches, and the progress lines show the time the slow link cost
 * as all-reduce wait.
 */
class TestHostsTrainingTest {
    @TempDir
    static Path work;

    /**
     * HDFS (a MiniDFSCluster) that the test hosts reach: the NameNode listens on every address, the DataNodes too, and
     * each names itself by the bridge's address, which clients in the hosts use ({@code dfs.client.use.datanode.hostname});
     * clients here reach it on loopback, where the NameNode saw it register.
     */
    static MiniDFSCluster reachableHdfs(Path base, int dataNodes) throws Exception {
        Configuration conf = new Configuration();
        conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, base.toFile().getAbsolutePath());
        conf.set("dfs.namenode.rpc-bind-host", "0.0.0.0");
        conf.set("dfs.datanode.address", "0.0.0.0:0");
        conf.set("dfs.datanode.http.address", "0.0.0.0:0"); // kept as configured, so fixed ports would collide
        conf.set("dfs.datanode.ipc.address", "0.0.0.0:0");
        conf.set("dfs.datanode.hostname", TestHosts.BRIDGE_ADDRESS);
        MiniDFSCluster hdfs = new MiniDFSCluster.Builder(conf).numDataNodes(dataNodes).checkDataNodeAddrConfig(true)
                .checkDataNodeHostConfig(true)
                .format(true).build();
        hdfs.waitActive();
        return hdfs;
    }

    /** The HDFS root as the hosts name it: the bridge's address and the NameNode's port. */
    static String rootFromHosts(MiniDFSCluster hdfs) {
        return "hdfs://" + TestHosts.BRIDGE_ADDRESS + ":" + hdfs.getNameNodePort();
    }

    /** train's options for a run whose ranks are executors in the test hosts. */
    static List<String> onTestHosts(TestHosts hosts, int ranks) {
        List<String> options = new ArrayList<>(List.of("--master", hosts.masterUrl(), "--conf",
                "spark.cores.max=" + ranks, "--conf", "spark.hadoop.dfs.client.use.datanode.hostname=true"));
        for (String kv : hosts.sparkConf("1g")) options.addAll(List.of("--conf", kv));
        return options;
    }

    @Test
    void twoRanksOnTwoTestHostsOneSlowCheckpointToHdfsAndEqualOneLocalRank() throws Exception {
        String data = TrainRuns.bundledData();
        String reference = work.resolve("reference").toString();
        train(run(data, reference, 1, 4, 2));

        MiniDFSCluster hdfs = reachableHdfs(work.resolve("hdfs"), 1);
        try (TestHosts hosts = TestHosts.up(2, "--link-gbps", "1")) {
            TestHosts.shape(hosts.hosts().get(1), 250);
            String out = rootFromHosts(hdfs) + "/runs/hosts";
            List<String> options = new ArrayList<>(onTestHosts(hosts, 2));
            options.addAll(List.of("--max-attempts", "1")); // nothing here should need a second attempt
            options.addAll(List.of("--log-every", "1"));
            TrainRuns.Finished finished = TrainRuns.trainWithOutput(run(data, out, 2, 4, 2, options.toArray(String[]::new)));
            JsonNode result = finished.result();
            assertEquals(2, result.get("ranks").asInt());
            assertEquals(hosts.masterUrl(), result.get("master").asText());
            Set<String> rankHosts = new TreeSet<>();
            result.get("hosts").forEach(h -> rankHosts.add(h.asText()));
            assertEquals(Set.of("198.18.0.11", "198.18.0.12"), rankHosts, "one rank in each test host: " + result);
            assertTrue(result.get("checkpoint").asText().startsWith(out), result.toString());
            assertSameTraining(reference, out);

            // Each step's gradients (4 bytes a parameter) cross the slow link once each way: at 250 Mbit/s that takes
            // longer than tiny's backward pass, so most of it shows as all-reduce wait, on every step's line.
            double transferPerStep = result.get("parameters").asDouble() * Float.BYTES * 8 / 250e6;
            double waited = result.get("comm_wait_s").get(0).asDouble();
            System.out.printf("slow link: rank 0 waited %.3f s for gradients over %d steps (%.3f s a step on the link)%n",
                    waited, DistributedEquivalenceTest.STEPS, transferPerStep);
            assertTrue(waited >= 0.5 * transferPerStep * DistributedEquivalenceTest.STEPS,
                    "rank 0 waited " + waited + " s for gradients in all; the slow link needs " + transferPerStep
                            + " s a step:\n" + finished.stdout());
            List<String> stepLines = finished.stdout().lines().filter(l -> l.startsWith("step ")).toList();
            assertEquals(DistributedEquivalenceTest.STEPS, stepLines.size(), finished.stdout());
            for (String line : stepLines) assertTrue(line.contains("all-reduce wait "), line);
        } finally {
            hdfs.shutdown();
        }
    }
}
