package dev.jllama.data.shard;

import java.io.Closeable;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.LongUnaryOperator;

/**
 * Reads windows of a split's global stream ({@link WindowOrder}) by global index. It holds the block of the
 * window read last in memory and loads the next block its caller will need on a background daemon thread, so
 * reads are block-sized (about the manifest's block_bytes) and rarely wait on the file system. Indices should
 * mostly increase: going back to an earlier block reloads it. Not thread-safe.
 */
public final class WindowStream implements Closeable {
    private final WindowOrder order;
    private final BlockLoader loader;
    private final ExecutorService prefetcher;

    private WindowOrder.Placement placement;
    private int[] windowOrder;
    private TokenBlock current;
    private int currentBlock = -1;
    private Future<TokenBlock> pending;
    private int pendingBlock = -1;

    WindowStream(WindowOrder order, BlockLoader loader, String threadName) {
        this.order = order;
        this.loader = loader;
        this.prefetcher = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, threadName);
            t.setDaemon(true);
            return t;
        });
    }

    public int seqLen() {
        return order.seqLen();
    }

    /**
     * Copies window {@code g} of the global stream (seqLen+1 tokens) into dst[off ..).
     *
     * @param nextWanted maps a global index x to the smallest index at or after x that the caller will ask for
     *                   next, or -1 if unknown; used to choose the block to prefetch
     */
    public void copy(long g, int[] dst, int off, LongUnaryOperator nextWanted) throws IOException {
        if (placement == null || g < placement.start() || g >= placement.end()) enter(g, nextWanted);
        int window = order.firstWindowOf(placement.block()) + windowOrder[(int) (g - placement.start())];
        current.copy((long) window * order.seqLen(), dst, off, order.seqLen() + 1);
    }

    private void enter(long g, LongUnaryOperator nextWanted) throws IOException {
        WindowOrder.Placement p = order.locate(g);
        placement = null; // until the block is in memory
        if (p.block() != currentBlock) {
            current = null; // let the old block go before the next one arrives
            currentBlock = -1;
            current = take(p.block());
            currentBlock = p.block();
        }
        placement = p;
        windowOrder = order.windowOrderInBlock(p.epoch(), p.block());
        long next = nextWanted.applyAsLong(p.end());
        if (next >= 0) prefetch(order.locate(next).block());
    }

    private TokenBlock take(int block) throws IOException {
        Future<TokenBlock> f = pending;
        boolean prefetched = pendingBlock == block;
        pending = null;
        pendingBlock = -1;
        if (prefetched) return await(f);
        if (f != null) f.cancel(true);
        return load(block);
    }

    private void prefetch(int block) {
        if (block == currentBlock || block == pendingBlock) return;
        if (pending != null) pending.cancel(true);
        pendingBlock = block;
        TokenRange range = range(block);
        pending = prefetcher.submit(() -> {
            try {
                return range.load(loader);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    private TokenBlock load(int block) throws IOException {
        return range(block).load(loader);
    }

    /** The tokens a block's windows cover: tokens [firstToken, endToken) of a shard. */
    private record TokenRange(int shard, long firstToken, long endToken) {
        TokenBlock load(BlockLoader loader) throws IOException {
            return loader.load(shard, firstToken, endToken);
        }
    }

    private TokenRange range(int block) {
        long seqLen = order.seqLen();
        long firstWindow = order.firstWindowOf(block);
        long lastWindow = firstWindow + order.windowsOf(block) - 1;
        return new TokenRange(order.shardOf(block), firstWindow * seqLen, lastWindow * seqLen + seqLen + 1);
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
        if (pending != null) pending.cancel(true);
        prefetcher.shutdownNow();
        current = null;
    }
}
