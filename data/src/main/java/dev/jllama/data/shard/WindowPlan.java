package dev.jllama.data.shard;

import java.util.List;

/**
 * Which windows a rank reads, in which order; a pure function of (shard token counts, seqLen, rank, worldSize,
 * seed, epoch), so every rank plans alone and a resumed reader replays the same order.
 * <p>
 * Window w of a shard covers its tokens [w·seqLen, w·seqLen + seqLen + 1): consecutive windows share one token
 * (the last target of one is the first input of the next), and windows never cross shard boundaries. In each
 * epoch the shard order is shuffled, and each shard's windows are shuffled and cut into worldSize equal slices;
 * rank r takes slice r. The at most worldSize-1 windows left over per shard differ between epochs, so nothing is
 * skipped for good, and every rank gets the same number of windows from each shard, which keeps ranks on the
 * same shard at the same step.
 */
public final class WindowPlan {
    private final long[] shardTokens;
    private final int seqLen;
    private final int rank;
    private final int worldSize;
    private final long seed;

    public WindowPlan(List<ShardInfo> shards, int seqLen, int rank, int worldSize, long seed) {
        if (seqLen <= 0) throw new IllegalArgumentException("seqLen must be positive, got " + seqLen);
        if (worldSize <= 0) throw new IllegalArgumentException("worldSize must be positive, got " + worldSize);
        if (rank < 0 || rank >= worldSize) throw new IllegalArgumentException("rank " + rank + " is not in [0, " + worldSize + ")");
        this.shardTokens = shards.stream().mapToLong(ShardInfo::tokens).toArray();
        this.seqLen = seqLen;
        this.rank = rank;
        this.worldSize = worldSize;
        this.seed = seed;
    }

    public int shards() {
        return shardTokens.length;
    }

    /** Number of windows in shard {@code shard} (its index in the manifest). */
    public int windowsIn(int shard) {
        long n = shardTokens[shard];
        return n <= seqLen ? 0 : Math.toIntExact((n - 1) / seqLen);
    }

    /** Windows this rank takes from the shard, identical for all ranks. */
    public int perRank(int shard) {
        return windowsIn(shard) / worldSize;
    }

    /** Windows each rank reads per epoch. */
    public long perRankPerEpoch() {
        long sum = 0;
        for (int s = 0; s < shardTokens.length; s++) sum += perRank(s);
        return sum;
    }

    /** Manifest indices of the shards in the order epoch {@code epoch} reads them. */
    public int[] shardOrder(long epoch) {
        return new SplitMix64(SplitMix64.seed(seed, epoch, -1)).permutation(shardTokens.length);
    }

    /** This rank's window indices within {@code shard} in epoch {@code epoch}, in reading order. */
    public int[] rankWindows(long epoch, int shard) {
        int[] all = new SplitMix64(SplitMix64.seed(seed, epoch, shard)).permutation(windowsIn(shard));
        int c = perRank(shard);
        int[] mine = new int[c];
        System.arraycopy(all, rank * c, mine, 0, c);
        return mine;
    }

    public long windowStart(int window) {
        return (long) window * seqLen;
    }
}
