package dev.jllama.tests;

import static dev.jllama.tests.DistributedEquivalenceTest.assertBitIdentical;
import static dev.jllama.tests.TrainRuns.finalMoments;
import static dev.jllama.tests.TrainRuns.finalWeights;
import static dev.jllama.tests.TrainRuns.lossesByStep;
import static dev.jllama.tests.TrainRuns.train;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jllama.cli.Main;
import dev.jllama.model.LlamaModel;
import dev.jllama.model.backend.Backend;
import dev.jllama.model.backend.cpu.CpuBackend;
import dev.jllama.model.checkpoint.CheckpointStore;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileUtil;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Resuming past damaged checkpoints, and training on through the loss of an HDFS datanode. */
class CheckpointRecoveryTest {
    @TempDir
    static Path work;
    static String data;

    @BeforeAll
    static void prepare() {
        data = TrainRuns.bundledData();
    }

    private static String[] args(String data, String out, int steps, String... extra) {
        return Stream.concat(Stream.of("train", "--data", data, "--out", out, "--model", "tiny", "--steps",
                Integer.toString(steps), "--micro-batch", "4", "--seq-len", "64", "--ranks", "2", "--threads", "1",
                "--warmup", "2", "--lr", "3e-3", "--checkpoint-every", "2", "--keep", "100", "--log-every", "1",
                "--eval-batches", "0", "--json"), Stream.of(extra)).toArray(String[]::new);
    }

    private static String run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int status = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(out, true, StandardCharsets.UTF_8));
        String output = out.toString(StandardCharsets.UTF_8);
        assertEquals(0, status, output);
        return output;
    }

    /**
     * A flipped bit in the newest checkpoint's weights (Hadoop's side checksum still in place, so its own checksum
     * error comes first) and an unfinished checkpoint after it: resume names both and continues from the one before.
     */
    @Test
    void resumeSkipsDamagedAndUnfinishedCheckpoints() throws Exception {
        String reference = work.resolve("reference").toString(), damaged = work.resolve("damaged").toString();
        train(args(data, reference, 8));
        train(args(data, damaged, 8));
        Path checkpoints = Path.of(damaged, "checkpoints");
        deleteTree(checkpoints.resolve("step-00000008"));
        Files.delete(checkpoints.resolve("step-00000006").resolve("COMPLETE")); // as if its writer died
        Path weights = checkpoints.resolve("step-00000004").resolve(CheckpointStore.MODEL_FILE);
        byte[] bytes = Files.readAllBytes(weights);
        bytes[bytes.length / 2] ^= 0x04;
        Files.write(weights, bytes);

        String output = run(args(data, damaged, 8, "--resume"));
        assertTrue(output.matches("(?s).*skipping checkpoint \\S+/step-00000006: COMPLETE: missing.*"), output);
        assertTrue(output.matches("(?s).*skipping checkpoint \\S+/step-00000004: model\\.safetensors: .*"
                + "trying the previous checkpoint.*"), output);
        assertTrue(output.matches("(?s).*resuming from \\S+/step-00000002 at step 2.*"), output);
        assertBitIdentical(finalWeights(reference + "/checkpoints"), finalWeights(damaged + "/checkpoints"));
        assertBitIdentical(finalMoments(reference + "/checkpoints"), finalMoments(damaged + "/checkpoints"));
    }

    /**
     * HDFS with three datanodes and two replicas: one datanode stops mid-run, and reading the data, writing
     * checkpoints and verifying them all go on; the run ends exactly where the same run on local files ends.
     */
    @Test
    void trainingGoesOnWhenADatanodeStops() throws Exception {
        String reference = work.resolve("local").toString();
        train(args(data, reference, 12));

        Configuration conf = new Configuration();
        conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, new File("target/minidfs-datanode-loss").getAbsolutePath());
        conf.setInt("dfs.replication", 2);
        MiniDFSCluster hdfs = new MiniDFSCluster.Builder(conf).numDataNodes(3).format(true).build();
        try {
            hdfs.waitActive();
            String root = hdfs.getFileSystem().getUri().toString();
            FileUtil.copy(new File(data), hdfs.getFileSystem(), new org.apache.hadoop.fs.Path("/data/bundled"), false, conf);
            String out = root + "/runs/datanode-loss";
            ByteArrayOutputStream output = new ByteArrayOutputStream();
            String[] args = args(root + "/data/bundled", out, 12, "--conf", "spark.hadoop.dfs.replication=2");
            CompletableFuture<Integer> training = CompletableFuture.supplyAsync(() -> Main.run(args,
                    new PrintStream(output, true, StandardCharsets.UTF_8), new PrintStream(output, true, StandardCharsets.UTF_8)));
            long deadline = System.nanoTime() + 300_000_000_000L;
            while (!output.toString(StandardCharsets.UTF_8).contains("step     5/")) {
                assertTrue(System.nanoTime() < deadline && !training.isDone(), "training never reached step 5: " + output);
                Thread.sleep(5);
            }
            hdfs.stopDataNode(0);
            assertEquals(0, training.get(10, TimeUnit.MINUTES), output.toString(StandardCharsets.UTF_8));

            List<Integer> steps = List.copyOf(lossesByStep(out + "/checkpoints").keySet());
            assertEquals(List.of(2, 4, 6, 8, 10, 12), steps, "every checkpoint, before and after the loss");
            for (var dir : new CheckpointStore(out + "/checkpoints", conf).list()) {
                try (Backend backend = new CpuBackend(1);
                     LlamaModel model = new LlamaModel(CheckpointStore.readState(dir.toString(), conf).config(), backend)) {
                    CheckpointStore.loadWeights(dir.toString(), conf, model); // verifies its checksums
                }
            }
            assertEquals(lossesByStep(reference + "/checkpoints"), lossesByStep(out + "/checkpoints"));
            assertBitIdentical(finalWeights(reference + "/checkpoints"), finalWeights(out + "/checkpoints"));
        } finally {
            hdfs.shutdown();
        }
    }

    private static void deleteTree(Path dir) throws Exception {
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
