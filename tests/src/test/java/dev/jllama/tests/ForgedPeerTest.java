package dev.jllama.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jllama.cli.Main;
import dev.jllama.collective.Collective;
import dev.jllama.collective.CollectiveOptions;
import dev.jllama.collective.PeerListener;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Peers prove the job's secret: while two ranks train, a stranger connects to their ring ports — once with random
 * bytes, once running the real handshake as "rank 0" with the wrong secret. Both are refused, and the run finishes
 * exactly as an undisturbed one.
 */
class ForgedPeerTest {
    @TempDir
    static Path work;
    static String data;

    @BeforeAll
    static void prepareBundledCorpus() {
        data = TrainRuns.bundledData();
    }

    @Test
    void strangersAreRefusedAndTrainingGoesOn() throws Exception {
        JsonNode expected = TrainRuns.train(args("undisturbed"));

        RingWatcher watcher = new RingWatcher();
        String[] args = args("attacked");
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        CompletableFuture<Integer> training = CompletableFuture.supplyAsync(() ->
                Main.run(args, new PrintStream(watcher, true, StandardCharsets.UTF_8),
                        new PrintStream(err, true, StandardCharsets.UTF_8)));
        List<String> ring = watcher.ring.get(120, TimeUnit.SECONDS);
        for (String address : ring) {
            sendGarbage(address);
            assertThrows(IOException.class, () -> joinAsRankZeroWithWrongSecret(address),
                    "a rank must refuse a peer without the job's secret");
        }
        int status = training.get(300, TimeUnit.SECONDS);
        assertEquals(0, status, "stderr: " + err.toString(StandardCharsets.UTF_8));
        String[] lines = watcher.text().strip().split("\n");
        JsonNode result = new ObjectMapper().readTree(lines[lines.length - 1]);
        assertEquals(expected.get("final_loss").asDouble(), result.get("final_loss").asDouble(), 0.0);
    }

    /** Two ranks, long enough (about 15 s) for the stranger to knock while they train. */
    private static String[] args(String out) {
        return new String[] {"train", "--data", data, "--out", work.resolve(out).toString(), "--model", "tiny",
                "--steps", "60", "--micro-batch", "16", "--seq-len", "128", "--ranks", "2", "--threads", "1",
                "--checkpoint-every", "0", "--eval-batches", "0", "--json"};
    }

    static void sendGarbage(String address) throws IOException {
        int colon = address.lastIndexOf(':');
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(address.substring(0, colon), Integer.parseInt(address.substring(colon + 1))), 5_000);
            byte[] junk = new byte[256];
            new SplittableRandom(1).nextBytes(junk);
            socket.getOutputStream().write(junk);
            socket.setSoTimeout(15_000);
            // The rank closes a connection that fails its handshake: reading ends instead of blocking.
            while (socket.getInputStream().read() >= 0) { /* drain the challenge */ }
        }
    }

    private static void joinAsRankZeroWithWrongSecret(String target) throws IOException {
        joinAsRankZeroWithWrongSecret(target, "127.0.0.1");
    }

    /** The real handshake as rank 0, listening on {@code listenAddress}, with the wrong secret. */
    static void joinAsRankZeroWithWrongSecret(String target, String listenAddress) throws IOException {
        try (PeerListener mine = PeerListener.open(listenAddress);
             Collective forged = Collective.connect(mine, 0, List.of(mine.address(), target),
                     "not the job's secret".getBytes(StandardCharsets.UTF_8),
                     CollectiveOptions.defaults().withTimeout(Duration.ofSeconds(3)))) {
            forged.allReduce(new float[16], 0, 16);
        }
    }

    /** Captures the command's output and completes when rank 0 announces the ring. */
    private static final class RingWatcher extends OutputStream {
        final CompletableFuture<List<String>> ring = new CompletableFuture<>();
        private final ByteArrayOutputStream all = new ByteArrayOutputStream();

        @Override
        public synchronized void write(int b) {
            all.write(b);
            if (b == '\n' && !ring.isDone()) {
                String text = all.toString(StandardCharsets.UTF_8);
                int at = text.indexOf("ring: ");
                if (at >= 0) ring.complete(List.of(text.substring(at + 6, text.indexOf('\n', at)).split(" -> ")));
            }
        }

        synchronized String text() {
            return all.toString(StandardCharsets.UTF_8);
        }
    }
}
