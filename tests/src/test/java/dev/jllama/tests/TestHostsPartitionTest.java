package dev.jllama.tests;

import static dev.jllama.tests.DistributedEquivalenceTest.assertBitIdentical;
import static dev.jllama.tests.TrainRuns.finalMoments;
import static dev.jllama.tests.TrainRuns.finalWeights;
import static dev.jllama.tests.TrainRuns.lossesByStep;
import static dev.jllama.tests.TrainRuns.train;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jllama.cli.Main;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A network partition: three test hosts, two ranks, and mid-run the link of one rank's host goes down. The other rank
 * gives up within --collective-timeout, the driver names the rank, host and step, the next attempt runs on the two
 * hosts left (the third host's worker starts the replacement executor) and resumes from the newest complete
 * checkpoint, and the run ends with exactly the parameters and moments of an uninterrupted run.
 */
class TestHostsPartitionTest {
    private static final int STEPS = 16;
    private static final int COLLECTIVE_TIMEOUT_S = 10;

    @TempDir
    static Path work;

    private static String[] args(String data, String out, List<String> extra) {
        return Stream.concat(Stream.of("train", "--data", data, "--out", out, "--model", "tiny",
                "--steps", Integer.toString(STEPS), "--micro-batch", "4", "--seq-len", "64", "--ranks", "2",
                "--threads", "1", "--warmup", "2", "--lr", "3e-3", "--checkpoint-every", "2", "--keep", "100",
                "--log-every", "1", "--eval-batches", "0", "--collective-timeout", Integer.toString(COLLECTIVE_TIMEOUT_S),
                "--json"), extra.stream()).toArray(String[]::new);
    }

    @Test
    void rankCutOffByItsLinkIsReplacedOnTheHostLeftAndTheRunEndsExactlyAsUninterrupted() throws Exception {
        String data = TrainRuns.bundledData();
        String reference = work.resolve("uninterrupted").toString(), out = work.resolve("partitioned").toString();
        train(args(data, reference, List.of()));

        try (TestHosts hosts = TestHosts.up(3, "--link-gbps", "1")) {
            List<String> options = new java.util.ArrayList<>(TestHostsTrainingTest.onTestHosts(hosts, 2));
            // The driver notices the cut-off executor within the network timeout (heartbeats every 2 s), not 120 s.
            options.addAll(List.of("--conf", "spark.network.timeout=20s", "--conf", "spark.network.timeoutInterval=5s",
                    "--conf", "spark.executor.heartbeatInterval=2s"));
            ByteArrayOutputStream stdout = new ByteArrayOutputStream(), stderr = new ByteArrayOutputStream();
            String[] argv = args(data, out, options);
            CompletableFuture<Integer> run = CompletableFuture.supplyAsync(() -> Main.run(argv,
                    new PrintStream(stdout, true, StandardCharsets.UTF_8), new PrintStream(stderr, true, StandardCharsets.UTF_8)));

            Pattern rankZero = Pattern.compile("rank 0 on (198\\.18\\.0\\.\\d+)");
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
            while (!stdout.toString(StandardCharsets.UTF_8).contains(String.format("step %5d/", 5))) {
                assertTrue(System.nanoTime() < deadline && !run.isDone(), "step 5 never came:\n" + stdout + stderr);
                Thread.sleep(20);
            }
            Matcher found = rankZero.matcher(stdout.toString(StandardCharsets.UTF_8));
            assertTrue(found.find(), stdout.toString(StandardCharsets.UTF_8));
            String cutOff = found.group(1);
            TestHosts.Host host = hosts.hosts().stream().filter(h -> h.address().equals(cutOff)).findFirst().orElseThrow();
            TestHosts.Run down = TestHosts.run(List.of("ip", "link", "set", TestHosts.link(host), "down"), 30);
            assertEquals(0, down.status(), down.output());
            long cut = System.nanoTime();

            int status = run.get(10, TimeUnit.MINUTES);
            String output = stdout.toString(StandardCharsets.UTF_8) + stderr.toString(StandardCharsets.UTF_8);
            assertEquals(0, status, output);
            String why = "link of " + host + " (rank 0) cut after step 5:\n" + output;
            Matcher failed = Pattern.compile("attempt 1 of 4 failed at step (\\d+): rank ([01]) on (198\\.18\\.0\\.\\d+)"
                    + "[^\\n]*PeerTimeoutException[^\\n]*attempt 2 resumes from the newest complete checkpoint, step-\\d{8}")
                    .matcher(output);
            assertTrue(failed.find(), why);
            System.out.println("partitioned run: " + failed.group());
            assertTrue(Integer.parseInt(failed.group(1)) >= 5, why);
            assertTrue(output.substring(failed.start(), failed.end()).contains(cutOff), "the silent host is named: " + why);

            String[] lines = stdout.toString(StandardCharsets.UTF_8).strip().split("\n");
            JsonNode result = new ObjectMapper().readTree(lines[lines.length - 1]);
            Set<String> finalHosts = new TreeSet<>();
            result.get("hosts").forEach(h -> finalHosts.add(h.asText()));
            assertEquals(2, finalHosts.size(), why);
            assertFalse(finalHosts.contains(cutOff), "the last attempt ran on the two hosts left: " + finalHosts + "\n" + why);
            assertTrue(System.nanoTime() - cut < TimeUnit.MINUTES.toNanos(5), why);

            assertEquals(lossesByStep(reference + "/checkpoints"), lossesByStep(out + "/checkpoints"), why);
            assertBitIdentical(finalWeights(reference + "/checkpoints"), finalWeights(out + "/checkpoints"));
            assertBitIdentical(finalMoments(reference + "/checkpoints"), finalMoments(out + "/checkpoints"));
        }
    }
}
