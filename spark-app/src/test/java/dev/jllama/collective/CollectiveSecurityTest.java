package dev.jllama.collective;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Strangers connecting to a rank's listener during training are refused and do not disturb the ring. */
class CollectiveSecurityTest {
    private static final CollectiveOptions OPTIONS = CollectiveOptions.defaults().withTimeout(Duration.ofSeconds(3));
    private static final int LENGTH = 50_000;
    private static final int ROUNDS = 200;

    @Test
    void forgedPeersAreRefusedWhileAllReducesFinishCorrectly() throws Exception {
        try (LocalRing ring = LocalRing.start(2, OPTIONS)) {
            CompletableFuture<List<Integer>> training = CompletableFuture.supplyAsync(() -> {
                try {
                    return ring.onEveryRank(CollectiveSecurityTest::allReduceRepeatedly);
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            PeerAddress target = PeerAddress.parse(ring.address(0));

            // The right protocol, the wrong secret: the client notices the server's proof does not match...
            byte[] wrongSecret = "not the secret of this training job".getBytes(StandardCharsets.US_ASCII);
            try (Link link = connectAs("forger", target)) {
                IOException e = assertThrows(IOException.class,
                        () -> Handshake.asClient(link, wrongSecret, 1, 0, 2, clientDeadline()));
                assertTrue(e.getMessage().contains("failed authentication"), e.getMessage());
            }
            // ...and a forger that answers the challenge anyway is refused by the server.
            assertEquals(0, forgedProofVerdict(target), "verdict byte 0: refused");
            // Garbage instead of a hello: closed at once.
            try (SocketChannel garbage = SocketChannel.open(target.socketAddress())) {
                byte[] noise = new byte[200];
                new SplittableRandom(7).nextBytes(noise);
                garbage.write(ByteBuffer.wrap(noise));
                assertClosedWithin(garbage, Duration.ofSeconds(2));
            }
            // The right secret but claiming to be a rank it is not (rank 0 expects rank 1 of 2).
            try (Link link = connectAs("impostor", target)) {
                IOException e = assertThrows(IOException.class,
                        () -> Handshake.asClient(link, LocalRing.SECRET, 1, 0, 3, clientDeadline()));
                assertTrue(e.getMessage().contains("refused the connection"), e.getMessage());
            }
            // The right secret and rank while the ring is already connected: refused too.
            try (Link link = connectAs("duplicate", target)) {
                assertThrows(IOException.class, () -> Handshake.asClient(link, LocalRing.SECRET, 1, 0, 2,
                        clientDeadline()));
            }

            assertEquals(List.of(ROUNDS, ROUNDS), training.get(60, TimeUnit.SECONDS));
        }
    }

    @Test
    void aSilentConnectionIsDroppedAfterTheHandshakeLimit() throws Exception {
        try (LocalRing ring = LocalRing.start(2, OPTIONS);
             SocketChannel silent = SocketChannel.open(PeerAddress.parse(ring.address(1)).socketAddress())) {
            assertClosedWithin(silent, Duration.ofSeconds(5)); // handshake limit: the 3 s timeout
            float[] data = {1, 2};
            ring.onEveryRank(c -> {
                c.allReduce(data.clone(), 0, 2);
                return null;
            });
        }
    }

    /** Each rank adds its own pattern many times; returns how many rounds came out exact. */
    private static int allReduceRepeatedly(Collective c) throws IOException {
        float[] data = new float[LENGTH];
        int correct = 0;
        for (int round = 0; round < ROUNDS; round++) {
            for (int i = 0; i < LENGTH; i++) data[i] = (c.rank() + 1) * ((i + round) % 100);
            c.allReduce(data, 0, LENGTH);
            boolean exact = true;
            for (int i = 0; i < LENGTH; i++) exact &= data[i] == 3 * ((i + round) % 100);
            if (exact) correct++;
        }
        return correct;
    }

    /** A client without the secret that replies to the challenge with made-up bytes; returns the verdict byte. */
    private static int forgedProofVerdict(PeerAddress target) throws IOException {
        try (SocketChannel channel = SocketChannel.open(target.socketAddress())) {
            channel.socket().setSoTimeout(2000);
            ByteBuffer hello = ByteBuffer.allocate(52).putInt(0x4A4C4C52).putInt(1).putInt(1).putInt(0).putInt(2)
                    .put(new byte[32]).flip();
            channel.write(hello);
            var in = channel.socket().getInputStream();
            assertEquals(64, in.readNBytes(64).length, "the server's challenge");
            channel.write(ByteBuffer.wrap(new byte[32]));
            return in.read();
        }
    }

    private static void assertClosedWithin(SocketChannel channel, Duration limit) throws IOException {
        channel.socket().setSoTimeout((int) limit.toMillis());
        long start = System.nanoTime();
        var in = channel.socket().getInputStream();
        while (true) {
            try {
                if (in.read() < 0) break;
            } catch (SocketTimeoutException e) {
                throw new AssertionError("the server kept the connection open longer than " + limit);
            } catch (IOException reset) {
                break; // closed with unread data: a reset is a close too
            }
        }
        assertTrue(System.nanoTime() - start < limit.toNanos());
    }

    /** Forged clients wait generously: the server's refusal is what is tested, not their patience. */
    private static long clientDeadline() {
        return System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    }

    private static Link connectAs(String name, PeerAddress target) throws IOException {
        return Link.connect(target, name, "rank 0", clientDeadline(), TimeUnit.SECONDS.toNanos(10));
    }
}
