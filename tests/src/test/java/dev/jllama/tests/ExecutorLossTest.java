package dev.jllama.tests;

import static dev.jllama.tests.DistributedEquivalenceTest.assertBitIdentical;
import static dev.jllama.tests.TrainRuns.finalMoments;
import static dev.jllama.tests.TrainRuns.finalWeights;
import static dev.jllama.tests.TrainRuns.lossesByStep;
import static dev.jllama.tests.TrainRuns.train;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jllama.cli.Main;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Losing an executor on a standalone cluster (master and two workers, each its own JVM): the stage fails, the driver
 * runs it again from the newest intact checkpoint, and the run ends with exactly the parameters of a run that lost
 * nothing.
 */
class ExecutorLossTest {
    @TempDir
    static Path work;
    static StandaloneCluster cluster;
    static String data;

    @BeforeAll
    static void start() throws Exception {
        data = TrainRuns.bundledData();
        cluster = new StandaloneCluster(work.resolve("cluster"), 2, "2g");
    }

    @AfterAll
    static void stop() {
        if (cluster != null) cluster.close();
    }

    private static String[] args(String out, String model, int steps, int microBatch, int seqLen, int checkpointEvery,
                                 List<String> extra) {
        return Stream.concat(Stream.of("train", "--data", data, "--out", out, "--model", model,
                "--steps", Integer.toString(steps), "--micro-batch", Integer.toString(microBatch),
                "--seq-len", Integer.toString(seqLen), "--ranks", "2", "--threads", "1", "--warmup", "2",
                "--lr", "3e-3", "--checkpoint-every", Integer.toString(checkpointEvery), "--keep", "100",
                "--log-every", "1", "--eval-batches", "0", "--collective-timeout", "30", "--json"),
                extra.stream()).toArray(String[]::new);
    }

    /** A run in the background whose output can be watched while it goes. */
    private record Running(CompletableFuture<Integer> status, ByteArrayOutputStream out, ByteArrayOutputStream err) {
        static Running start(String[] args) {
            ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
            return new Running(CompletableFuture.supplyAsync(() -> Main.run(args,
                    new PrintStream(out, true, StandardCharsets.UTF_8),
                    new PrintStream(err, true, StandardCharsets.UTF_8))), out, err);
        }

        String output() {
            return out.toString(StandardCharsets.UTF_8) + err.toString(StandardCharsets.UTF_8);
        }

        void await(BooleanSupplier condition, String what) throws InterruptedException {
            long deadline = System.nanoTime() + 300_000_000_000L;
            while (!condition.getAsBoolean()) {
                assertTrue(System.nanoTime() < deadline && !status.isDone(), what + " never happened:\n" + output());
                Thread.sleep(2);
            }
        }

        String finish() throws Exception {
            int code = status.get(10, TimeUnit.MINUTES);
            assertEquals(0, code, output());
            return output();
        }
    }

    @Test
    void killedExecutorAtARandomStepCostsNothingButTime() throws Exception {
        long seed = System.nanoTime();
        int killAt = 5 + new Random(seed).nextInt(14);
        String reference = work.resolve("uninterrupted").toString(), out = work.resolve("killed").toString();
        train(args(reference, "tiny", 24, 4, 64, 4, List.of()));

        Running run = Running.start(args(out, "tiny", 24, 4, 64, 4, cluster.conf("1g")));
        run.await(() -> run.output().contains(String.format("step %5d/", killAt)), "step " + killAt);
        List<ProcessHandle> executors = cluster.executors();
        assertEquals(2, executors.size(), "executor JVMs: " + executors);
        ProcessHandle victim = executors.get(new Random(seed).nextInt(2));
        victim.destroyForcibly(); // SIGKILL
        String output = run.finish();

        String why = "killed executor pid " + victim.pid() + " at step " + killAt + " (seed " + seed + "):\n" + output;
        assertTrue(output.matches("(?s).*attempt 1 of 4 failed at step \\d+: rank [01] on 127\\.0\\.0\\.1 \\(executor "
                + "\\d+\\).*; attempt 2 resumes from the newest complete checkpoint, step-\\d{8}.*"), why);
        assertEquals(lossesByStep(reference + "/checkpoints"), lossesByStep(out + "/checkpoints"), why);
        assertBitIdentical(finalWeights(reference + "/checkpoints"), finalWeights(out + "/checkpoints"));
        assertBitIdentical(finalMoments(reference + "/checkpoints"), finalMoments(out + "/checkpoints"));
    }

    /**
     * The rank that writes checkpoints is killed half-way through writing one: the half-written directory is never
     * read, the next attempt resumes from the checkpoint before it, and the result is still exactly the same.
     */
    @Test
    void writerKilledMidCheckpointResumesFromThePreviousOne() throws Exception {
        String reference = work.resolve("uninterrupted-15m").toString(), out = work.resolve("killed-writing").toString();
        // 15M parameters: a checkpoint is ~180 MB, long enough to be caught while it is being written.
        train(args(reference, "15M", 6, 1, 32, 2, List.of()));

        Running run = Running.start(args(out, "15M", 6, 1, 32, 2, cluster.conf("1536m")));
        Path checkpoints = Path.of(out, "checkpoints");
        run.await(() -> halfWritten(checkpoints, 4).isPresent(), "a checkpoint of step 4 being written");
        Path partial = halfWritten(checkpoints, 4).orElseThrow();
        ProcessHandle writer = null;
        while (writer == null) {
            writer = cluster.executors().stream().filter(e -> writesInto(e, partial)).findFirst().orElse(null);
            assertTrue(Files.exists(partial), "the checkpoint was complete before its writer was found");
        }
        writer.destroyForcibly();
        ProcessHandle killed = writer;
        run.await(() -> !killed.isAlive(), "the end of the killed executor");
        assertTrue(Files.exists(partial) && !Files.exists(partial.resolve("COMPLETE")),
                "the writer died before it completed the checkpoint");
        String output = run.finish();

        assertTrue(output.contains("attempt 2 resumes from the newest complete checkpoint, step-00000002"), output);
        assertTrue(output.matches("(?s).*resuming from \\S+/step-00000002 at step 2.*"), output);
        assertEquals(lossesByStep(reference + "/checkpoints"), lossesByStep(out + "/checkpoints"));
        assertBitIdentical(finalWeights(reference + "/checkpoints"), finalWeights(out + "/checkpoints"));
        try (Stream<Path> left = Files.list(checkpoints)) {
            assertEquals(List.of(), left.filter(p -> p.getFileName().toString().contains(".tmp-")).toList(),
                    "the half-written directory is cleared once the step is written again");
        }
    }

    /** The hidden directory a checkpoint of {@code step} is being written into, if there is one now. */
    private static Optional<Path> halfWritten(Path checkpoints, int step) {
        try (Stream<Path> entries = Files.list(checkpoints)) {
            String prefix = String.format(".step-%08d.tmp-", step);
            return entries.filter(p -> p.getFileName().toString().startsWith(prefix)).findFirst();
        } catch (IOException e) {
            return Optional.empty(); // not created yet
        }
    }

    /** Whether {@code process} has a file open in {@code dir} (/proc/PID/fd). */
    private static boolean writesInto(ProcessHandle process, Path dir) {
        try (Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(process.pid()), "fd"))) {
            return fds.anyMatch(fd -> {
                try {
                    return Files.readSymbolicLink(fd).startsWith(dir);
                } catch (IOException e) {
                    return false;
                }
            });
        } catch (IOException e) {
            return false;
        }
    }
}
