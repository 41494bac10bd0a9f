package dev.jllama.data.shard;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/**
 * The windows of one split for one rank, following {@link WindowPlan}. The current shard is held in memory while
 * a background thread loads (and verifies) the next one, so reading never waits on the file system unless a
 * shard is consumed faster than the next one loads.
 */
final class ShardWindowSource implements WindowSource {
    private final Path dir;
    private final Configuration conf;
    private final Manifest manifest;
    private final List<ShardInfo> shards;
    private final String split;
    private final String fingerprint;
    private final WindowPlan plan;
    private final int seqLen;
    private final int rank;
    private final int worldSize;
    private final long seed;
    private final ExecutorService prefetcher;

    private long epoch;
    private int[] order;
    private int ordinal;
    private int window;
    private long served;

    private LoadedShard loaded;
    private int loadedIndex = -1;
    private int[] slice;
    private long sliceEpoch = -1;
    private int sliceShard = -1;
    private Future<LoadedShard> pending;
    private int pendingIndex = -1;

    ShardWindowSource(Path dir, Configuration conf, Manifest manifest, String split, String fingerprint, int seqLen,
                      int rank, int worldSize, long seed, String position) throws IOException {
        this.dir = dir;
        this.conf = conf;
        this.manifest = manifest;
        this.shards = manifest.split(split).shards();
        this.split = split;
        this.fingerprint = fingerprint;
        this.plan = new WindowPlan(shards, seqLen, rank, worldSize, seed);
        this.seqLen = seqLen;
        this.rank = rank;
        this.worldSize = worldSize;
        this.seed = seed;
        if (plan.perRankPerEpoch() == 0) {
            throw new IOException("split '" + split + "' of dataset " + dir + " (" + manifest.split(split).tokens()
                    + " tokens in " + shards.size() + " shards) has no window of " + (seqLen + 1)
                    + " tokens for each of " + worldSize + " ranks");
        }
        if (position != null) {
            WindowPosition p = WindowPosition.parse(position);
            p.checkMatches(fingerprint, split, seqLen, rank, worldSize, seed);
            if (p.epoch() < 0 || p.shard() < 0 || p.shard() >= shards.size() || p.window() < 0) {
                throw new IOException("reader position is out of range for dataset " + dir + ": " + position);
            }
            epoch = p.epoch();
            ordinal = p.shard();
            window = p.window();
            served = p.served();
        }
        order = plan.shardOrder(epoch);
        prefetcher = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "jllama-shard-prefetch-" + split + "-rank" + rank);
            t.setDaemon(true);
            return t;
        });
    }

    @Override
    public int seqLen() {
        return seqLen;
    }

    @Override
    public void next(int[] dst, int count) throws IOException {
        int len = seqLen + 1;
        if (count < 0 || dst.length < (long) count * len) {
            throw new IllegalArgumentException("dst holds " + dst.length + " ints, " + count + " windows need " + (long) count * len);
        }
        for (int i = 0; i < count; i++) {
            skipExhausted();
            ensureCurrent();
            loaded.copy(plan.windowStart(slice[window]), dst, i * len, len);
            window++;
            served++;
        }
    }

    /** Moves (epoch, ordinal, window) forward past shards this rank has finished or gets nothing from. */
    private void skipExhausted() {
        while (window >= plan.perRank(order[ordinal])) {
            window = 0;
            if (++ordinal == order.length) {
                ordinal = 0;
                order = plan.shardOrder(++epoch);
            }
        }
    }

    private void ensureCurrent() throws IOException {
        int shard = order[ordinal];
        if (sliceEpoch == epoch && sliceShard == shard) return;
        if (loadedIndex != shard) {
            loaded = null; // let the old shard go before the next one arrives
            if (pendingIndex == shard) {
                loaded = await(pending);
            } else {
                if (pending != null) pending.cancel(true);
                loaded = load(shard);
            }
            pending = null;
            pendingIndex = -1;
            loadedIndex = shard;
        }
        slice = plan.rankWindows(epoch, shard);
        sliceEpoch = epoch;
        sliceShard = shard;
        prefetchFollowing();
    }

    /** Starts loading the next shard with windows for this rank, unless it is the one in memory. */
    private void prefetchFollowing() {
        long e = epoch;
        int k = ordinal;
        int[] o = order;
        do {
            if (++k == o.length) {
                k = 0;
                o = plan.shardOrder(++e);
            }
        } while (plan.perRank(o[k]) == 0);
        int next = o[k];
        if (next == loadedIndex || next == pendingIndex) return;
        pendingIndex = next;
        pending = prefetcher.submit(() -> {
            try {
                return load(next);
            } catch (IOException ex) {
                throw new UncheckedIOException(ex);
            }
        });
    }

    private LoadedShard load(int shard) throws IOException {
        ShardInfo info = shards.get(shard);
        return ShardLoader.load(new Path(dir, info.file()), info, manifest.vocabSize(), manifest.blockBytes(), conf);
    }

    private static LoadedShard await(Future<LoadedShard> f) throws IOException {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while waiting for a shard");
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof UncheckedIOException u) throw u.getCause();
            throw new IOException("loading a shard failed: " + c, c);
        }
    }

    @Override
    public String position() {
        return new WindowPosition(WindowPosition.VERSION, fingerprint, split, seqLen, rank, worldSize, seed,
                epoch, ordinal, window, served).toJson();
    }

    /** Windows handed out since the start, over all epochs (resumed readers continue the count). */
    long served() {
        return served;
    }

    @Override
    public void close() {
        if (pending != null) pending.cancel(true);
        prefetcher.shutdownNow();
        loaded = null;
    }
}
