package dev.jllama.tests;

import static dev.jllama.tests.DistributedEquivalenceTest.assertSameTraining;
import static dev.jllama.tests.DistributedEquivalenceTest.run;
import static dev.jllama.tests.TrainRuns.train;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jllama.cli.Main;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import javax.imageio.ImageIO;
import java.util.concurrent.TimeUnit;
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
        localData = TrainRuns.bundledData();
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

        // What rank 0 writes for the people watching the run goes to HDFS as well: a metrics line per step (appended,
        // HDFS can) and the loss curve.
        FileSystem fs = hdfs.getFileSystem();
        List<String> metrics;
        try (var in = new java.io.BufferedReader(new java.io.InputStreamReader(
                fs.open(new org.apache.hadoop.fs.Path("/runs/cluster/metrics.jsonl")), StandardCharsets.UTF_8))) {
            metrics = in.lines().toList();
        }
        assertEquals(DistributedEquivalenceTest.STEPS, metrics.size(), String.join("\n", metrics));
        for (int i = 0; i < metrics.size(); i++) {
            assertTrue(metrics.get(i).startsWith("{\"step\":" + (i + 1) + ","), metrics.get(i));
        }
        BufferedImage picture = ImageIO.read(fs.open(new org.apache.hadoop.fs.Path("/runs/cluster/loss.png")));
        assertEquals(List.of(1000, 600), List.of(picture.getWidth(), picture.getHeight()));
        // TensorBoard's event file, flushed open on HDFS: one record per metrics line after the version and restart.
        var events = fs.listStatus(new org.apache.hadoop.fs.Path("/runs/cluster/tensorboard"));
        assertEquals(1, events.length, java.util.Arrays.toString(events));
        java.nio.ByteBuffer records;
        try (var in = fs.open(events[0].getPath())) {
            records = java.nio.ByteBuffer.wrap(in.readAllBytes()).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        }
        int count = 0;
        while (records.hasRemaining()) {
            long length = records.getLong();
            records.position(records.position() + 4 + (int) length + 4); // the two checksums around the data
            count++;
        }
        assertEquals(2 + metrics.size(), count);
    }

    /**
     * A rank that stops answering (its executor JVM frozen with SIGSTOP) fails the stage within the collective
     * timeout, with a message naming the silent peer, instead of hanging the job.
     */
    @Test
    void silentRankFailsTheStageWithinTheTimeout() throws Exception {
        String[] args = {"train", "--data", localData, "--out", work.resolve("stalled").toString(), "--model", "tiny",
                "--steps", "100000", "--micro-batch", "8", "--seq-len", "64", "--backend", "cpu", "--ranks", "2",
                "--checkpoint-every", "0", "--eval-batches", "0", "--collective-timeout", "5", "--log-every", "1",
                "--master", "local-cluster[2,1,1024]", "--max-attempts", "1"};
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        CompletableFuture<Integer> training = CompletableFuture.supplyAsync(() -> Main.run(args,
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8)));
        ProcessHandle executor = null;
        try {
            long deadline = System.nanoTime() + 180_000_000_000L;
            while (!out.toString(StandardCharsets.UTF_8).contains("step     3/")) {
                assertTrue(System.nanoTime() < deadline && !training.isDone(), "training never started: " + out + err);
                Thread.sleep(200);
            }
            executor = ProcessHandle.current().descendants().filter(ClusterTrainingTest::isExecutor).findFirst()
                    .orElseThrow(() -> new AssertionError("no executor JVM among this JVM's child processes"));
            signal("STOP", executor);
            long stopped = System.nanoTime();
            int status = training.get(120, TimeUnit.SECONDS);
            String message = err.toString(StandardCharsets.UTF_8);
            assertEquals(1, status, message);
            assertTrue(message.contains("training stage failed") && message.contains("PeerTimeoutException")
                    && message.matches("(?s).*rank \\d.*127\\.0\\.0\\.1:\\d+.*"), message);
            assertTrue(System.nanoTime() - stopped < 60_000_000_000L, "the stage took more than a minute to fail");
        } finally {
            if (executor != null) signal("CONT", executor);
        }
    }

    /** From /proc: ProcessHandle.Info gives no command line as long as an executor's class path. */
    private static boolean isExecutor(ProcessHandle process) {
        try {
            return Files.readString(Path.of("/proc", Long.toString(process.pid()), "cmdline"), StandardCharsets.ISO_8859_1)
                    .contains("CoarseGrainedExecutorBackend");
        } catch (IOException e) {
            return false; // it ended meanwhile
        }
    }

    private static void signal(String name, ProcessHandle process) throws Exception {
        new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).inheritIO().start().waitFor();
    }
}
