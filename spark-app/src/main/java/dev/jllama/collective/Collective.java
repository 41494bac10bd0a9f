package dev.jllama.collective;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.DoubleBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Ring collectives over direct TCP between the ranks of one training job: the communicator in XGBoost4J's split
 * (tracker / communicator / Spark glue). It knows only floats, bytes and sockets; the Spark code that exchanges
 * addresses and the secret lives elsewhere.
 *
 * <p>Setup has two phases: every rank opens a {@link PeerListener} and publishes its address; once all addresses
 * are known (index = rank), every rank calls {@link #connect}, which connects to rank+1, accepts rank-1, and
 * authenticates both connections with the shared secret (see {@link Handshake}).
 *
 * <p>All operations run on one communication thread in submission order; every rank must issue the same operations
 * with the same lengths in the same order (a mismatch fails with a message saying so). An array handed to an
 * asynchronous operation must not be touched until its future completes. Any failure (a peer that stops answering
 * fails within {@link CollectiveOptions#timeout()} with {@link PeerTimeoutException}) leaves the collective unusable:
 * close it and give up on the step.
 */
public final class Collective implements AutoCloseable {
    /** The server side of a handshake is a stranger until proven otherwise: it gets at most this long. */
    private static final Duration MAX_HANDSHAKE = Duration.ofSeconds(10);

    private final int rank;
    private final int worldSize;
    private final Ring ring;
    private final Acceptor acceptor;
    private final PeerListener listener;
    private final ExecutorService communication;
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile Thread communicationThread;

    private Collective(int rank, int worldSize, Ring ring, Acceptor acceptor, PeerListener listener) {
        this.rank = rank;
        this.worldSize = worldSize;
        this.ring = ring;
        this.acceptor = acceptor;
        this.listener = listener;
        this.communication = ring == null ? null : Executors.newSingleThreadExecutor(task -> {
            Thread thread = Thread.ofPlatform().daemon().name("jllama-collective-rank-" + rank).unstarted(task);
            communicationThread = thread;
            return thread;
        });
    }

    /**
     * Connects the ring (phase 2). With one rank there are no sockets and every operation is a no-op or a copy.
     *
     * @param listener  this rank's listener; the collective takes it over and closes it in {@link #close()}
     * @param addresses every rank's {@link PeerListener#address()}, index = rank
     * @param secret    shared by all ranks of this job, at least 16 bytes (32 random bytes recommended); never sent
     * @throws PeerTimeoutException if a neighbour does not connect or authenticate within the timeout
     */
    public static Collective connect(PeerListener listener, int rank, List<String> addresses, byte[] secret,
                                     CollectiveOptions options) throws IOException {
        Objects.requireNonNull(listener, "listener");
        Objects.requireNonNull(secret, "secret");
        Objects.requireNonNull(options, "options");
        int worldSize = addresses.size();
        if (worldSize == 0) throw new IllegalArgumentException("addresses is empty: a ring needs at least one rank");
        if (rank < 0 || rank >= worldSize) {
            throw new IllegalArgumentException("rank " + rank + " is outside 0.." + (worldSize - 1));
        }
        List<PeerAddress> peers = new ArrayList<>(worldSize);
        for (String address : addresses) peers.add(PeerAddress.parse(address));
        if (!peers.get(rank).equals(PeerAddress.parse(listener.address()))) {
            throw new IllegalArgumentException("addresses[" + rank + "] is " + peers.get(rank)
                    + ", but this rank's listener is at " + listener.address());
        }
        if (secret.length < Handshake.MIN_SECRET_BYTES) {
            throw new IllegalArgumentException("the shared secret must have at least " + Handshake.MIN_SECRET_BYTES
                    + " bytes, got " + secret.length);
        }
        if (worldSize == 1) return new Collective(0, 1, null, null, listener);

        byte[] key = secret.clone();
        long timeoutNanos = options.timeout().toNanos();
        long deadline = System.nanoTime() + timeoutNanos;
        int next = (rank + 1) % worldSize;
        int previous = (rank + worldSize - 1) % worldSize;
        String self = "rank " + rank;
        long handshakeNanos = Math.min(timeoutNanos, MAX_HANDSHAKE.toNanos());
        Acceptor acceptor = Acceptor.start(listener, rank, previous, describe(previous, peers.get(previous)),
                worldSize, key, handshakeNanos);
        Link toNext = null;
        Link fromPrevious = null;
        try {
            toNext = Link.connect(peers.get(next), self, describe(next, peers.get(next)), deadline, timeoutNanos);
            Handshake.asClient(toNext, key, rank, next, worldSize, deadline);
            fromPrevious = acceptor.awaitPredecessor(deadline, timeoutNanos);
            return new Collective(rank, worldSize, new Ring(rank, worldSize, toNext, fromPrevious, options), acceptor,
                    listener);
        } catch (IOException | RuntimeException e) {
            if (toNext != null) toNext.close();
            if (fromPrevious != null) fromPrevious.close();
            acceptor.stop();
            throw e;
        }
    }

    private static String describe(int peerRank, PeerAddress address) {
        return "rank " + peerRank + " (" + address + ")";
    }

    public int rank() {
        return rank;
    }

    public int worldSize() {
        return worldSize;
    }

    /** How {@code length} elements split into {@code worldSize} contiguous ranges (the first ones one longer). */
    public static Range range(int length, int worldSize, int rank) {
        if (length < 0) throw new IllegalArgumentException("length must be >= 0, got " + length);
        if (worldSize < 1 || rank < 0 || rank >= worldSize) {
            throw new IllegalArgumentException("rank " + rank + " is outside 0.." + (worldSize - 1));
        }
        int base = length / worldSize;
        int longer = length % worldSize;
        int start = rank * base + Math.min(rank, longer);
        return new Range(start, start + base + (rank < longer ? 1 : 0));
    }

    /** Elements [start, end). */
    public record Range(int start, int end) {
        public int length() {
            return end - start;
        }
    }

    /** Sums {@code data[offset, offset + length)} over all ranks in place; every rank gets identical bits. */
    public void allReduce(float[] data, int offset, int length) throws IOException {
        await(allReduceAsync(data, offset, length));
    }

    /**
     * Afterwards this rank's {@link #range} (relative to {@code offset}) holds the sum over all ranks, bit-identical
     * to what {@link #allReduce} gives there; the rest of the slice is unspecified.
     */
    public void reduceScatter(float[] data, int offset, int length) throws IOException {
        await(reduceScatterAsync(data, offset, length));
    }

    /** Fills every rank's {@link #range} of the slice from its owner. */
    public void allGather(float[] data, int offset, int length) throws IOException {
        await(allGatherAsync(data, offset, length));
    }

    public CompletableFuture<Void> allReduceAsync(float[] data, int offset, int length) {
        return floatsAsync(Ring.Operation.ALL_REDUCE, data, offset, length);
    }

    public CompletableFuture<Void> reduceScatterAsync(float[] data, int offset, int length) {
        return floatsAsync(Ring.Operation.REDUCE_SCATTER, data, offset, length);
    }

    public CompletableFuture<Void> allGatherAsync(float[] data, int offset, int length) {
        return floatsAsync(Ring.Operation.ALL_GATHER, data, offset, length);
    }

    private CompletableFuture<Void> floatsAsync(Ring.Operation operation, float[] data, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, data.length);
        if (ring == null) return CompletableFuture.completedFuture(null);
        return submit(() -> {
            ring.floats(operation, data, offset, length);
            return null;
        });
    }

    /** Every rank's bytes, index = rank (small control messages: checksums, per-rank statistics). */
    public byte[][] allGatherBytes(byte[] mine) throws IOException {
        Objects.requireNonNull(mine, "mine");
        if (ring == null) return new byte[][] {mine.clone()};
        return await(submit(() -> ring.gatherBytes(mine)));
    }

    /** Element-wise sum over all ranks, added in rank order so that every rank gets identical bits. */
    public double[] allReduceDoubles(double[] values) throws IOException {
        ByteBuffer mine = ByteBuffer.allocate(values.length * Double.BYTES);
        mine.asDoubleBuffer().put(values);
        byte[][] all = allGatherBytes(mine.array());
        double[] sums = new double[values.length];
        for (int peer = 0; peer < worldSize; peer++) {
            if (all[peer].length != mine.capacity()) {
                throw new IOException("rank " + rank + ": rank " + peer + " summed " + all[peer].length / Double.BYTES
                        + " doubles, this rank " + values.length);
            }
            DoubleBuffer theirs = ByteBuffer.wrap(all[peer]).asDoubleBuffer();
            for (int i = 0; i < sums.length; i++) sums[i] += theirs.get(i);
        }
        return sums;
    }

    private interface IoTask<T> {
        T call() throws IOException;
    }

    private <T> CompletableFuture<T> submit(IoTask<T> task) {
        CompletableFuture<T> result = new CompletableFuture<>();
        if (closed.get()) {
            result.completeExceptionally(closedException());
            return result;
        }
        try {
            communication.execute(() -> {
                try {
                    result.complete(task.call());
                } catch (Throwable e) {
                    result.completeExceptionally(e);
                }
            });
        } catch (RejectedExecutionException e) {
            result.completeExceptionally(closedException());
        }
        return result;
    }

    private <T> T await(CompletableFuture<T> future) throws IOException {
        if (Thread.currentThread() == communicationThread) {
            // It would wait for itself: the operation is queued behind the callback that is running.
            throw new IllegalStateException("rank " + rank + ": a blocking collective operation was called on the"
                    + " communication thread (from a callback of an asynchronous one); use the asynchronous variant");
        }
        try {
            return future.get();
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof IOException io) throw io;
            if (cause instanceof RuntimeException runtime) throw runtime;
            if (cause instanceof Error error) throw error;
            throw new IOException("rank " + rank + ": " + cause, cause);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("rank " + rank + ": interrupted while waiting for a collective operation");
        }
    }

    private IOException closedException() {
        return new IOException("rank " + rank + ": collective closed");
    }

    /**
     * Closes the connections and the listener. A running operation fails at once, queued ones fail with
     * "collective closed". Returns within a few seconds whatever the peers do; idempotent.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) return;
        if (ring != null) ring.close();
        if (acceptor != null) acceptor.stop();
        listener.close();
        if (communication != null) {
            communication.shutdown();
            if (Thread.currentThread() != communicationThread) {
                try {
                    communication.awaitTermination(5, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }
}
