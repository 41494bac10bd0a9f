package dev.jllama.collective;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** A peer that stops answering fails the operation within the timeout, naming the peer; nothing hangs. */
class CollectiveTimeoutTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(3);
    /** Room for thread scheduling on a busy machine after the timeout expires. */
    private static final long SLACK_NANOS = TimeUnit.MILLISECONDS.toNanos(1500);
    private static final CollectiveOptions OPTIONS = CollectiveOptions.defaults().withTimeout(TIMEOUT);

    /** Small: the data fits the socket buffers and only the receive waits. Large: the send blocks as well. */
    @ParameterizedTest
    @ValueSource(ints = {10, 16 << 20})
    void aRankThatStopsAnsweringFailsTheOperationWithinTheTimeout(int length) throws Exception {
        try (LocalRing ring = LocalRing.start(2, OPTIONS)) {
            long start = System.nanoTime();
            // Rank 1 never calls allReduce.
            PeerTimeoutException e = assertThrows(PeerTimeoutException.class,
                    () -> ring.rank(0).allReduce(new float[length], 0, length));
            long elapsed = System.nanoTime() - start;
            assertTrue(elapsed < TIMEOUT.toNanos() + SLACK_NANOS, elapsed / 1e9 + " s");
            assertTrue(e.getMessage().contains("rank 1 (" + ring.address(1) + ")"), e.getMessage());
            assertTrue(e.getMessage().contains("all-reduce #1"), e.getMessage());
        }
    }

    @Test
    void connectFailsWhenTheNextRankListensButNeverJoins() throws Exception {
        try (PeerListener mine = PeerListener.open("127.0.0.1"); PeerListener idle = PeerListener.open("127.0.0.1")) {
            long start = System.nanoTime();
            PeerTimeoutException e = assertThrows(PeerTimeoutException.class, () -> Collective.connect(mine, 0,
                    List.of(mine.address(), idle.address()), LocalRing.SECRET, OPTIONS));
            assertTrue(System.nanoTime() - start < TIMEOUT.toNanos() + SLACK_NANOS);
            assertTrue(e.getMessage().contains("rank 1 (" + idle.address() + ")"), e.getMessage());
        }
    }

    @Test
    void connectRetriesUntilTheTimeoutWhileNothingListens() throws Exception {
        PeerListener gone = PeerListener.open("127.0.0.1");
        gone.close();
        try (PeerListener mine = PeerListener.open("127.0.0.1")) {
            long start = System.nanoTime();
            PeerTimeoutException e = assertThrows(PeerTimeoutException.class, () -> Collective.connect(mine, 0,
                    List.of(mine.address(), gone.address()), LocalRing.SECRET, OPTIONS));
            long elapsed = System.nanoTime() - start;
            assertTrue(elapsed >= TIMEOUT.toNanos() && elapsed < TIMEOUT.toNanos() + SLACK_NANOS,
                    elapsed / 1e9 + " s");
            assertTrue(e.getMessage().contains("could not connect to rank 1 (" + gone.address() + ")"),
                    e.getMessage());
        }
    }

    @Test
    void ranksThatJoinAtDifferentTimesStillConnect() throws Exception {
        try (PeerListener first = PeerListener.open("127.0.0.1"); PeerListener late = PeerListener.open("127.0.0.1")) {
            List<String> addresses = List.of(first.address(), late.address());
            CompletableFuture<Collective> early = CompletableFuture.supplyAsync(() -> connect(first, 0, addresses));
            Thread.sleep(500);
            try (Collective one = connect(late, 1, addresses); Collective zero = early.get(10, TimeUnit.SECONDS)) {
                float[] a = {1};
                float[] b = {2};
                CompletableFuture<Void> reduced = zero.allReduceAsync(a, 0, 1);
                one.allReduce(b, 0, 1);
                reduced.get(10, TimeUnit.SECONDS);
                assertTrue(a[0] == 3 && b[0] == 3);
            }
        }
    }

    @Test
    void closeEndsARunningOperationAtOnce() throws Exception {
        CollectiveOptions patient = CollectiveOptions.defaults().withTimeout(Duration.ofMinutes(1));
        try (LocalRing ring = LocalRing.start(2, patient)) {
            CompletableFuture<Void> waiting = ring.rank(0).allReduceAsync(new float[10], 0, 10);
            CompletableFuture<Void> queued = ring.rank(0).allReduceAsync(new float[10], 0, 10);
            Thread.sleep(200);
            long start = System.nanoTime();
            ring.rank(0).close();
            assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(2), "close() returned promptly");
            for (CompletableFuture<Void> f : List.of(waiting, queued)) {
                ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(2, TimeUnit.SECONDS));
                assertTrue(e.getCause() instanceof IOException && e.getCause().getMessage().contains("closed"),
                        String.valueOf(e.getCause()));
            }
            IOException after = assertThrows(IOException.class, () -> ring.rank(0).allReduce(new float[1], 0, 1));
            assertTrue(after.getMessage().contains("collective closed"), after.getMessage());
        }
    }

    private static Collective connect(PeerListener listener, int rank, List<String> addresses) {
        try {
            return Collective.connect(listener, rank, addresses, LocalRing.SECRET, OPTIONS);
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }
}
