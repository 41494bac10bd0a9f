package dev.jllama.tests;

import static dev.jllama.tests.DistributedEquivalenceTest.assertSameTraining;
import static dev.jllama.tests.DistributedEquivalenceTest.run;
import static dev.jllama.tests.TrainRuns.train;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jllama.data.prepare.BundledCorpus;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.FileUtil;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Training across executor JVMs: a local-cluster of two workers (separate processes on 127.0.0.1), each executor
 * with one fake GPU from a discovery script, reading the dataset from HDFS (MiniDFSCluster) and checkpointing
 * there. The result must equal one rank accumulating both ranks' micro-batches on local files.
 */
class ClusterTrainingTest {
    @TempDir
    static Path work;
    static MiniDFSCluster hdfs;
    static String localData;
    static String hdfsRoot;

    @BeforeAll
    static void start() throws IOException {
        Files.createDirectories(Path.of(System.getenv("SPARK_HOME"), "jars"));
        localData = BundledCorpus.prepare(work.resolve("bundled")).toString();
        Configuration conf = new Configuration();
        conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, new File("target/minidfs-cluster-training").getAbsolutePath());
        hdfs = new MiniDFSCluster.Builder(conf).numDataNodes(1).format(true).build();
        hdfs.waitActive();
        FileSystem fs = hdfs.getFileSystem();
        hdfsRoot = fs.getUri().toString();
        FileUtil.copy(new File(localData), fs, new org.apache.hadoop.fs.Path("/data/bundled"), false, conf);
    }

    @AfterAll
    static void stop() {
        if (hdfs != null) hdfs.shutdown();
    }

    /** A GPU discovery script as a worker runs it: one GPU, address 0. */
    static String fakeGpuScript() throws IOException {
        Path script = work.resolve("discover-gpu.sh");
        Files.writeString(script, "#!/usr/bin/env bash\necho '{\"name\":\"gpu\",\"addresses\":[\"0\"]}'\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        return script.toString();
    }

    @Test
    void twoExecutorJvmsOnHdfsEqualOneLocalRank() throws Exception {
        String reference = work.resolve("reference").toString();
        train(run(localData, reference, 1, 4, 2));

        String gpu = fakeGpuScript();
        String out = hdfsRoot + "/runs/cluster";
        String[] cluster = run(hdfsRoot + "/data/bundled", out, 2, 4, 2, "--backend", "cpu",
                "--master", "local-cluster[2,1,1024]",
                "--conf", "spark.worker.resource.gpu.amount=1",
                "--conf", "spark.worker.resource.gpu.discoveryScript=" + gpu,
                "--conf", "spark.executor.resource.gpu.amount=1",
                "--conf", "spark.executor.resource.gpu.discoveryScript=" + gpu);
        JsonNode result = train(cluster);
        assertEquals(2, result.get("ranks").asInt());
        assertTrue(result.get("master").asText().startsWith("local-cluster"), result.toString());
        assertEquals("[[\"0\"],[\"0\"]]", result.get("gpus").toString(), "each task sees its executor's GPU");
        assertTrue(result.get("checkpoint").asText().startsWith(hdfsRoot), result.toString());
        assertSameTraining(reference, out);
    }
}
