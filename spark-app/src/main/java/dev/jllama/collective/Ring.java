package dev.jllama.collective;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * The data path of one rank: the connection to the next rank, the one from the previous rank, and a sender thread,
 * so that sending and receiving proceed at once (a ring whose ranks all send before they receive deadlocks as soon
 * as a message outgrows the socket buffers).
 *
 * <p>All float operations follow one schedule. Segment k is {@code Collective.range(length, W, k)}. Ring step t
 * (0 &lt;= t &lt; 2W-2) sends segment (r-t-1) mod W and receives segment (r-t-2) mod W; steps below W-1 add the
 * received partial sum into the local segment (reduce-scatter), later steps overwrite it (all-gather). What step t
 * sends is what step t-1 received, so the sender streams chunk j of step t as soon as the receiver has finished
 * chunk j of step t-1. Reduce-scatter is steps [0, W-1), all-gather [W-1, 2W-2) and all-reduce all of them, so
 * all-reduce equals reduce-scatter followed by all-gather bit for bit. Segment k's sum starts at rank k+1, travels
 * the ring and is completed by its owner k; every other rank only copies it, so all ranks hold identical bits.
 *
 * <p>Every operation starts with a header (sequence number, operation, length) that the receiver checks, so ranks
 * that issue different operations fail with a clear message instead of mixing up data. After any failure the
 * connections are closed and every later operation fails: the byte streams can no longer be trusted.
 */
final class Ring implements AutoCloseable {

    enum Operation {
        ALL_REDUCE("all-reduce"),
        REDUCE_SCATTER("reduce-scatter"),
        ALL_GATHER("all-gather"),
        GATHER_BYTES("byte all-gather");

        private final String label;

        Operation(String label) {
            this.label = label;
        }
    }

    /** Little-endian on the wire whatever the hosts are; a plain copy on x86 and ARM. */
    private static final ValueLayout.OfFloat WIRE_FLOAT = JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int HEADER_BYTES = Long.BYTES + 2 * Integer.BYTES;

    private final int rank;
    private final int worldSize;
    private final int chunkFloats;
    private final long timeoutNanos;
    private final String self;
    private final Link toNext;
    private final Link fromPrevious;
    private final ExecutorService sender;
    private final ByteBuffer sendBuffer;
    private final ByteBuffer receiveBuffer;
    private final MemorySegment sendStaging;
    private final MemorySegment receiveStaging;
    private final ByteBuffer sendHeader = ByteBuffer.allocate(HEADER_BYTES);
    private final ByteBuffer receiveHeader = ByteBuffer.allocate(HEADER_BYTES);
    private final Progress received = new Progress();
    private final AtomicReference<IOException> failure = new AtomicReference<>();
    private long operationsIssued;
    private volatile boolean closed;

    Ring(int rank, int worldSize, Link toNext, Link fromPrevious, CollectiveOptions options) {
        this.rank = rank;
        this.worldSize = worldSize;
        this.self = "rank " + rank;
        this.toNext = toNext;
        this.fromPrevious = fromPrevious;
        this.timeoutNanos = options.timeout().toNanos();
        this.chunkFloats = options.chunkBytes() / Float.BYTES;
        this.sendBuffer = ByteBuffer.allocateDirect(options.chunkBytes());
        this.receiveBuffer = ByteBuffer.allocateDirect(options.chunkBytes());
        this.sendStaging = MemorySegment.ofBuffer(sendBuffer);
        this.receiveStaging = MemorySegment.ofBuffer(receiveBuffer);
        this.sender = Executors.newSingleThreadExecutor(
                Thread.ofPlatform().daemon().name("jllama-collective-rank-" + rank + "-sender").factory());
    }

    /** Runs {@code operation} (one of the three float operations) on {@code data[offset, offset + length)}. */
    void floats(Operation operation, float[] data, int offset, int length) throws IOException {
        Schedule schedule = Schedule.of(operation, length, rank, worldSize, chunkFloats);
        run(operation, length, header -> sendFloats(header, schedule, data, offset),
                header -> receiveFloats(header, schedule, data, offset));
    }

    /** Every rank's bytes, index = rank. Item (r-s) mod W travels at step s. */
    byte[][] gatherBytes(byte[] mine) throws IOException {
        byte[][] items = new byte[worldSize][];
        items[rank] = mine.clone();
        run(Operation.GATHER_BYTES, 0, header -> sendItems(header, items), header -> receiveItems(header, items));
        return items;
    }

    private interface Half {
        void run(Header header) throws IOException;
    }

    private void run(Operation operation, int length, Half sending, Half receiving) throws IOException {
        IOException earlier = failure.get();
        if (closed) throw new IOException(self + ": collective closed");
        if (earlier != null) {
            throw new IOException(self + ": collective unusable after an earlier failure: " + earlier.getMessage(),
                    earlier);
        }
        Header header = new Header(++operationsIssued, operation.ordinal(), length);
        received.reset();
        try {
            Future<?> sent = sender.submit(() -> {
                try {
                    writeHeader(header);
                    sending.run(header);
                    return null;
                } catch (IOException | RuntimeException e) {
                    throw fail(e);
                }
            });
            readHeader(header);
            receiving.run(header);
            sent.get();
        } catch (ExecutionException e) {
            throw fail(e.getCause() instanceof Exception cause ? cause : e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw fail(new InterruptedIOException(self + ": interrupted during " + header));
        } catch (IOException | RuntimeException e) {
            throw fail(e);
        }
    }

    private void sendFloats(Header header, Schedule schedule, float[] data, int offset) throws IOException {
        for (int step = schedule.firstStep(); step < schedule.endStep(); step++) {
            Collective.Range segment = Collective.range(schedule.length(), worldSize, ringIndex(rank - step - 1));
            int chunks = schedule.chunks(segment);
            for (int chunk = 0; chunk < chunks; chunk++) {
                int stepNumber = step + 1;
                if (step > schedule.firstStep()) {
                    // This chunk is what the receiver finished in the previous step.
                    received.awaitAtLeast(schedule.chunksReceivedBefore(step - 1) + chunk + 1, timeoutNanos,
                            () -> self + ": no data received from " + fromPrevious.peer() + " for " + header
                                    + ", step " + stepNumber);
                }
                int from = segment.start() + chunk * chunkFloats;
                int count = Math.min(chunkFloats, segment.end() - from);
                MemorySegment.copy(data, offset + from, sendStaging, WIRE_FLOAT, 0, count);
                sendBuffer.clear().limit(count * Float.BYTES);
                toNext.writeFully(sendBuffer, timeoutNanos, Link.NO_DEADLINE,
                        () -> header + " data, step " + stepNumber + ", to be taken");
            }
        }
    }

    private void receiveFloats(Header header, Schedule schedule, float[] data, int offset) throws IOException {
        for (int step = schedule.firstStep(); step < schedule.endStep(); step++) {
            Collective.Range segment = Collective.range(schedule.length(), worldSize, ringIndex(rank - step - 2));
            boolean reduce = step < worldSize - 1;
            int chunks = schedule.chunks(segment);
            for (int chunk = 0; chunk < chunks; chunk++) {
                int from = segment.start() + chunk * chunkFloats;
                int count = Math.min(chunkFloats, segment.end() - from);
                receiveBuffer.clear().limit(count * Float.BYTES);
                int stepNumber = step + 1;
                fromPrevious.readFully(receiveBuffer, timeoutNanos, Link.NO_DEADLINE,
                        () -> header + " data, step " + stepNumber);
                if (reduce) {
                    addReceived(data, offset + from, count);
                } else {
                    MemorySegment.copy(receiveStaging, WIRE_FLOAT, 0, data, offset + from, count);
                }
                received.advance();
            }
        }
    }

    /** Adds the received partial sums to {@code data}; reading them straight off the buffer saves a copy. */
    private void addReceived(float[] data, int from, int count) {
        for (int i = 0; i < count; i++) data[from + i] += receiveStaging.get(WIRE_FLOAT, (long) i * Float.BYTES);
    }

    private void sendItems(Header header, byte[][] items) throws IOException {
        for (int step = 0; step < worldSize - 1; step++) {
            if (step > 0) {
                int stepNumber = step + 1;
                received.awaitAtLeast(step, timeoutNanos, () -> self + ": no data received from "
                        + fromPrevious.peer() + " for " + header + ", step " + stepNumber);
            }
            byte[] item = items[ringIndex(rank - step)];
            ByteBuffer message = ByteBuffer.allocate(Integer.BYTES + item.length).putInt(item.length).put(item).flip();
            toNext.writeFully(message, timeoutNanos, Link.NO_DEADLINE, () -> header + " to be taken");
        }
    }

    private void receiveItems(Header header, byte[][] items) throws IOException {
        for (int step = 0; step < worldSize - 1; step++) {
            ByteBuffer length = ByteBuffer.allocate(Integer.BYTES);
            fromPrevious.readFully(length, timeoutNanos, Link.NO_DEADLINE, () -> header + " data");
            int size = length.getInt(0);
            if (size < 0) {
                throw new IOException(self + ": " + fromPrevious.peer() + " sent a negative length in " + header);
            }
            ByteBuffer item = ByteBuffer.allocate(size);
            fromPrevious.readFully(item, timeoutNanos, Link.NO_DEADLINE, () -> header + " data");
            items[ringIndex(rank - step - 1)] = item.array();
            received.advance();
        }
    }

    private void writeHeader(Header header) throws IOException {
        sendHeader.clear().putLong(header.number()).putInt(header.operation()).putInt(header.length()).flip();
        toNext.writeFully(sendHeader, timeoutNanos, Link.NO_DEADLINE, () -> "the start of " + header + " to be taken");
    }

    private void readHeader(Header expected) throws IOException {
        receiveHeader.clear();
        fromPrevious.readFully(receiveHeader, timeoutNanos, Link.NO_DEADLINE, () -> "the start of " + expected);
        receiveHeader.flip();
        Header actual = new Header(receiveHeader.getLong(), receiveHeader.getInt(), receiveHeader.getInt());
        if (!actual.equals(expected)) {
            throw new IOException(self + " expected " + expected + " but " + fromPrevious.peer() + " sent " + actual
                    + ": every rank must issue the same collective operations, with the same lengths, in the same"
                    + " order");
        }
    }

    /** Records the first failure, closes both connections so the other half stops at once, returns the first. */
    private IOException fail(Exception e) {
        IOException io = e instanceof IOException ioe ? ioe : new IOException(self + ": " + e, e);
        if (failure.compareAndSet(null, io)) {
            received.abort(io);
            toNext.close();
            fromPrevious.close();
        }
        return failure.get();
    }

    private int ringIndex(int i) {
        return Math.floorMod(i, worldSize);
    }

    /** Ends the ring; a running operation fails at once with "collective closed". Never blocks for long. */
    @Override
    public void close() {
        closed = true;
        fail(new IOException(self + ": collective closed"));
        sender.shutdown();
        try {
            sender.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** What every operation starts with on the wire. */
    private record Header(long number, int operation, int length) {
        @Override
        public String toString() {
            if (operation < 0 || operation >= Operation.values().length) return "unknown operation code " + operation;
            Operation op = Operation.values()[operation];
            return op.label + " #" + number + (op == Operation.GATHER_BYTES ? "" : " of " + length + " floats");
        }
    }

    /** Which ring steps an operation runs and how many chunks the receiver completes before each step. */
    private record Schedule(int length, int firstStep, int endStep, int chunkFloats, long[] receivedBeforeStep) {

        static Schedule of(Operation operation, int length, int rank, int worldSize, int chunkFloats) {
            int firstStep = operation == Operation.ALL_GATHER ? worldSize - 1 : 0;
            int endStep = operation == Operation.REDUCE_SCATTER ? worldSize - 1 : 2 * worldSize - 2;
            long[] receivedBefore = new long[endStep - firstStep + 1];
            Schedule schedule = new Schedule(length, firstStep, endStep, chunkFloats, receivedBefore);
            for (int step = firstStep; step < endStep; step++) {
                int receiving = Math.floorMod(rank - step - 2, worldSize);
                receivedBefore[step - firstStep + 1] = receivedBefore[step - firstStep]
                        + schedule.chunks(Collective.range(length, worldSize, receiving));
            }
            return schedule;
        }

        int chunks(Collective.Range segment) {
            return (segment.length() + chunkFloats - 1) / chunkFloats;
        }

        long chunksReceivedBefore(int step) {
            return receivedBeforeStep[step - firstStep];
        }
    }

    /** How many chunks the receiver has finished in the current operation; the sender waits on it. */
    private static final class Progress {
        private final ReentrantLock lock = new ReentrantLock();
        private final Condition changed = lock.newCondition();
        private long chunks;
        private IOException abortedBy;

        void reset() {
            lock.lock();
            try {
                chunks = 0;
            } finally {
                lock.unlock();
            }
        }

        void advance() {
            lock.lock();
            try {
                chunks++;
                changed.signalAll();
            } finally {
                lock.unlock();
            }
        }

        void abort(IOException cause) {
            lock.lock();
            try {
                abortedBy = cause;
                changed.signalAll();
            } finally {
                lock.unlock();
            }
        }

        /** Waits until {@code target} chunks are done; the receiver itself fails within the timeout otherwise. */
        void awaitAtLeast(long target, long timeoutNanos, Supplier<String> stalled) throws IOException {
            lock.lock();
            try {
                long left = timeoutNanos;
                while (chunks < target) {
                    if (abortedBy != null) throw abortedBy;
                    if (left <= 0) throw new PeerTimeoutException(stalled.get());
                    left = changed.awaitNanos(left);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while waiting for received data");
            } finally {
                lock.unlock();
            }
        }
    }
}
