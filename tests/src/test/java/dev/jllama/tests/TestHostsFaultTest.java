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
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * Faults on three test hosts with two ranks (the third host idle). A forged peer: while the ranks train, a stranger on
 * the idle host knocks at both ring ports, with random bytes and with the real handshake under the wrong secret; both
 * are refused and the run ends as an undisturbed one. Then a network partition: mid-run the link of one rank's host
 * goes down. The other rank gives up within --collective-timeout, the driver names the rank, host and step, the next
 * attempt runs on the two hosts left (the idle host's worker starts the replacement executor) and resumes from the
 * newest complete checkpoint, and the run ends with exactly the parameters and moments of an uninterrupted run. The
 * partition comes last: it leaves a host cut off.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class TestHostsFaultTest {
    private static final int STEPS = 16;
    private static final int COLLECTIVE_TIMEOUT_S = 10;

    @TempDir
    static Path work;
    static String data;
    static TestHosts hosts;

    @BeforeAll
    static void start() throws Exception {
        data = TrainRuns.bundledData();
        hosts = TestHosts.up(3, "--link-gbps", "1");
    }

    @AfterAll
    static void stop() throws Exception {
        if (hosts != null) hosts.close();
    }

    @Test
    @Order(1)
    void strangerFromAnotherHostIsRefusedAndTrainingGoesOn() throws Exception {
        // Two ranks, long enough (about 15 s) for the stranger to knock while they train.
        List<String> common = List.of("train", "--data", data, "--model", "tiny", "--steps", "60", "--micro-batch", "16",
                "--seq-len", "128", "--ranks", "2", "--threads", "1", "--checkpoint-every", "0", "--eval-batches", "0",
                "--json");
        List<String> undisturbed = new ArrayList<>(common);
        undisturbed.addAll(List.of("--out", work.resolve("undisturbed").toString()));
        JsonNode expected = train(undisturbed.toArray(String[]::new));

        List<String> attacked = new ArrayList<>(common);
        attacked.addAll(List.of("--out", work.resolve("attacked").toString()));
        attacked.addAll(TestHostsTrainingTest.onTestHosts(hosts, 2));
        ByteArrayOutputStream stdout = new ByteArrayOutputStream(), stderr = new ByteArrayOutputStream();
        CompletableFuture<Integer> run = CompletableFuture.supplyAsync(() -> Main.run(attacked.toArray(String[]::new),
                new PrintStream(stdout, true, StandardCharsets.UTF_8), new PrintStream(stderr, true, StandardCharsets.UTF_8)));
        Pattern ringLine = Pattern.compile("ring: (\\S+) -> (\\S+)\n");
        Matcher ring = ringLine.matcher("");
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
        while (!ring.reset(stdout.toString(StandardCharsets.UTF_8)).find()) {
            assertTrue(System.nanoTime() < deadline && !run.isDone(), "the ring never formed:\n" + stdout + stderr);
            Thread.sleep(20);
        }
        List<String> targets = List.of(ring.group(1), ring.group(2));
        TestHosts.Host idle = hosts.hosts().stream()
                .filter(h -> targets.stream().noneMatch(t -> t.startsWith(h.address() + ":"))).findFirst().orElseThrow();
        List<String> stranger = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(), "-cp",
                System.getProperty("java.class.path"), Stranger.class.getName(), idle.address()));
        stranger.addAll(targets);
        TestHosts.Run knocked = TestHosts.inHost(idle, stranger, 120);
        assertEquals(0, knocked.status(), knocked.output());
        for (String target : targets) assertTrue(knocked.output().contains("refused " + target), knocked.output());

        int status = run.get(5, TimeUnit.MINUTES);
        assertEquals(0, status, stdout.toString(StandardCharsets.UTF_8) + stderr.toString(StandardCharsets.UTF_8));
        assertTrue(run.isDone() && !stdout.toString(StandardCharsets.UTF_8).contains("attempt 1 of"),
                "the stranger failed no attempt:\n" + stdout);
        String[] lines = stdout.toString(StandardCharsets.UTF_8).strip().split("\n");
        JsonNode result = new ObjectMapper().readTree(lines[lines.length - 1]);
        assertEquals(expected.get("final_loss").asDouble(), result.get("final_loss").asDouble(), 0.0);
    }

    private static String[] args(String out, List<String> extra) {
        return Stream.concat(Stream.of("train", "--data", data, "--out", out, "--model", "tiny",
                "--steps", Integer.toString(STEPS), "--micro-batch", "4", "--seq-len", "64", "--ranks", "2",
                "--threads", "1", "--warmup", "2", "--lr", "3e-3", "--checkpoint-every", "2", "--keep", "100",
                "--log-every", "1", "--eval-batches", "0", "--collective-timeout", Integer.toString(COLLECTIVE_TIMEOUT_S),
                "--json"), extra.stream()).toArray(String[]::new);
    }

    @Test
    @Order(2)
    void rankCutOffByItsLinkIsReplacedOnTheHostLeftAndTheRunEndsExactlyAsUninterrupted() throws Exception {
        String reference = work.resolve("uninterrupted").toString(), out = work.resolve("partitioned").toString();
        train(args(reference, List.of()));

        List<String> options = new ArrayList<>(TestHostsTrainingTest.onTestHosts(hosts, 2));
        // The driver notices the cut-off executor within the network timeout (heartbeats every 2 s), not 120 s.
        options.addAll(List.of("--conf", "spark.network.timeout=20s", "--conf", "spark.network.timeoutInterval=5s",
                "--conf", "spark.executor.heartbeatInterval=2s"));
        ByteArrayOutputStream stdout = new ByteArrayOutputStream(), stderr = new ByteArrayOutputStream();
        String[] argv = args(out, options);
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
        // Whichever Spark reports first ends the attempt: the other rank's timeout waiting for the silent one, or the
        // driver losing the silent worker's heartbeat; either names a rank and its host.
        Matcher failed = Pattern.compile("attempt 1 of 4 failed at step (\\d+): rank ([01]) on (198\\.18\\.0\\.\\d+)"
                + "[^\\n]*(PeerTimeoutException|ExecutorLostFailure)[^\\n]*attempt 2 resumes from the newest complete"
                + " checkpoint, step-\\d{8}")
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
