package dev.jllama.data.shard;

import java.io.Closeable;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Reads windows of a split's global stream ({@link WindowOrder}) by global index, for one reader that says which
 * indices it will ask for ({@link Wanted}). Of each block visit it reads only those indices' windows (whole
 * checksum chunks around them, see {@link BlockLoader#loadRanges}), so N ranks sharing a visit each read about a
 * 1/N of it. It holds the visit of the window read last in memory and loads the next {@code readAhead} visits its
 * reader will need on a background daemon thread, so reads rarely wait on the file system; ranks given different
 * read-ahead depths ({@link RankSlice#readAheadVisits}) load different blocks at any one time. Indices should
 * mostly increase: going back to an earlier visit reloads it. Not thread-safe.
 */
public final class WindowStream implements Closeable {
    /** Which global indices of the stream its reader will ask for. */
    public interface Wanted {
        /** The smallest index at or after {@code x} that the reader will ask for, or -1 if not known. */
        long firstAtOrAfter(long x);

        /** The indices in [from, to) that the reader will ask for, ascending. */
        default long[] within(long from, long to) {
            long[] found = new long[16];
            int n = 0;
            for (long x = firstAtOrAfter(from); x >= 0 && x < to; x = firstAtOrAfter(x + 1)) {
                if (n == found.length) found = Arrays.copyOf(found, 2 * n);
                found[n++] = x;
            }
            return Arrays.copyOf(found, n);
        }
    }

    /** A block visit's wanted windows, loaded or on their way. */
    private record Visit(WindowOrder.Placement placement, Future<TokenBlock> tokens) {}

    private final WindowOrder order;
    private final BlockLoader loader;
    private final int readAhead;
    private final ExecutorService prefetcher;
    private final ArrayDeque<Visit> ahead = new ArrayDeque<>();

    private WindowOrder.Placement placement;
    private int[] windowOrder;
    private TokenBlock current;
    private long windowsCopied;

    WindowStream(WindowOrder order, BlockLoader loader, int readAhead, String threadName) {
        if (readAhead < 1) throw new IllegalArgumentException("readAhead must be at least 1 visit, got " + readAhead);
        this.order = order;
        this.loader = loader;
        this.readAhead = readAhead;
        this.prefetcher = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, threadName);
            t.setDaemon(true);
            return t;
        });
    }

    public int seqLen() {
        return order.seqLen();
    }

    /** Bytes this stream has read from the file system: shards, headers and chunk checksums, read-ahead included. */
    public long bytesRead() {
        return loader.bytesRead();
    }

    /** Bytes of the tokens trained on in the windows copied so far: seqLen tokens each (their inputs). */
    public long bytesTrained() {
        return windowsCopied * order.seqLen() * loader.tokenWidth();
    }

    /** Copies window {@code g} of the global stream (seqLen+1 tokens) into dst[off ..). */
    public void copy(long g, int[] dst, int off, Wanted wanted) throws IOException {
        if (placement == null || g < placement.start() || g >= placement.end()) enter(g, wanted);
        long first = windowStart(g);
        if (current.holds(first, order.seqLen() + 1)) {
            current.copy(first, dst, off, order.seqLen() + 1);
        } else { // the reader asked for an index it had not announced: read that window alone
            load(placement, new long[] {g}).copy(first, dst, off, order.seqLen() + 1);
        }
        windowsCopied++;
    }

    /** First token, within its shard, of the window at global index {@code g} of the current visit. */
    private long windowStart(long g) {
        int window = order.firstWindowOf(placement.block()) + windowOrder[(int) (g - placement.start())];
        return (long) window * order.seqLen();
    }

    private void enter(long g, Wanted wanted) throws IOException {
        WindowOrder.Placement p = order.locate(g);
        placement = null; // until the visit is in memory
        current = null; // let the old visit go before the next one arrives
        while (!ahead.isEmpty() && ahead.peekFirst().placement().start() < p.start()) ahead.pollFirst().tokens().cancel(true);
        if (!ahead.isEmpty() && ahead.peekFirst().placement().start() == p.start()) {
            current = await(ahead.pollFirst().tokens());
        } else {
            for (Visit v : ahead) v.tokens().cancel(true); // a jump: what was read ahead is for another place
            ahead.clear();
            long[] indices = wanted.within(g, p.end());
            if (indices.length == 0 || indices[0] != g) indices = prepend(g, indices);
            current = load(p, indices);
        }
        placement = p;
        windowOrder = order.windowOrderInBlock(p.epoch(), p.block());
        readAhead(p, wanted);
    }

    /** Queues the loads of the reader's next visits after {@code p} until {@code readAhead} are loaded or on their way. */
    private void readAhead(WindowOrder.Placement p, Wanted wanted) {
        long from = ahead.isEmpty() ? p.end() : ahead.peekLast().placement().end();
        while (ahead.size() < readAhead) {
            long next = wanted.firstAtOrAfter(from);
            if (next < 0) return;
            WindowOrder.Placement q = order.locate(next);
            long[] indices = wanted.within(next, q.end());
            ahead.addLast(new Visit(q, prefetcher.submit(() -> {
                try {
                    return load(q, indices);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            })));
            from = q.end();
        }
    }

    /** The windows of {@code indices} (global, all in visit {@code p}), read and verified. */
    private TokenBlock load(WindowOrder.Placement p, long[] indices) throws IOException {
        int[] inBlock = order.windowOrderInBlock(p.epoch(), p.block());
        long seqLen = order.seqLen();
        long firstWindow = order.firstWindowOf(p.block());
        long[] starts = new long[indices.length];
        for (int i = 0; i < indices.length; i++) starts[i] = (firstWindow + inBlock[(int) (indices[i] - p.start())]) * seqLen;
        Arrays.sort(starts);
        long[] ends = new long[starts.length];
        for (int i = 0; i < starts.length; i++) ends[i] = starts[i] + seqLen + 1;
        return loader.loadRanges(order.shardOf(p.block()), starts, ends);
    }

    private static long[] prepend(long g, long[] indices) {
        long[] all = new long[indices.length + 1];
        all[0] = g;
        System.arraycopy(indices, 0, all, 1, indices.length);
        return all;
    }

    private static TokenBlock await(Future<TokenBlock> f) throws IOException {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for a block of windows");
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof UncheckedIOException u) throw u.getCause();
            throw new IOException("loading a block of windows failed: " + c, c);
        }
    }

    @Override
    public void close() {
        for (Visit v : ahead) v.tokens().cancel(true);
        ahead.clear();
        prefetcher.shutdownNow();
        current = null;
    }
}
