package dev.jllama.data.shard;

/**
 * Which part of a global window stream one rank reads. Counting global steps from a start index (0, or the
 * position a run resumed from), step s covers the global indices [start + s·W·N, start + (s+1)·W·N) with
 * W = windowsPerStep and N = worldSize, and rank r reads the contiguous sub-range starting at
 * start + s·W·N + r·W. So N ranks together read exactly what one rank with W·N windows per step reads, in rank
 * order, and the world can change size between runs.
 *
 * @param windowsPerStep windows one rank reads per optimizer step (micro-batch × gradient accumulation)
 */
public record RankSlice(int rank, int worldSize, int windowsPerStep) {

    public RankSlice {
        if (worldSize <= 0) throw new IllegalArgumentException("worldSize must be positive, got " + worldSize);
        if (rank < 0 || rank >= worldSize) throw new IllegalArgumentException("rank " + rank + " is not in [0, " + worldSize + ")");
        if (windowsPerStep <= 0) throw new IllegalArgumentException("windowsPerStep must be positive, got " + windowsPerStep);
    }

    /** Ranks whose read-ahead depths differ, so that this many ranks read different blocks at any one time. */
    static final int STAGGERED_RANKS = 8;

    /**
     * How many block visits ahead of the one it trains on this rank keeps loaded: 1 + rank mod 8. While the world
     * trains on visit k, rank r loads visit k+1+r, so concurrent reads go to different blocks (on HDFS, to other
     * DataNodes) instead of all ranks reading one block at once; the ranks' read-ahead stays below one block's
     * windows each, since a rank reads about 1/N of each visit.
     */
    public int readAheadVisits() {
        return 1 + rank % STAGGERED_RANKS;
    }

    /** Windows the whole world reads per step, W·N. */
    public long windowsPerWorldStep() {
        return (long) windowsPerStep * worldSize;
    }

    /** Global index of this rank's window number {@code k} (counting from 0) after {@code start}. */
    public long globalIndex(long start, long k) {
        return start + k / windowsPerStep * windowsPerWorldStep() + (long) rank * windowsPerStep + k % windowsPerStep;
    }

    /** The smallest global index at or after {@code g} that this rank reads. */
    public long firstOwnedAtOrAfter(long start, long g) {
        if (g < start) g = start;
        long step = (g - start) / windowsPerWorldStep();
        long stepStart = start + step * windowsPerWorldStep();
        long mine = stepStart + (long) rank * windowsPerStep;
        if (g < mine) return mine;
        if (g < mine + windowsPerStep) return g;
        return mine + windowsPerWorldStep();
    }

    /** Whether this rank reads global index {@code g}. */
    public boolean owns(long start, long g) {
        return g >= start && (g - start) % windowsPerWorldStep() / windowsPerStep == rank;
    }

    /**
     * Global windows the whole world has consumed once this rank has read {@code k} windows after {@code start};
     * only defined at a step boundary, where every rank's count is the same.
     */
    public long consumedAtStepBoundary(long start, long k) {
        if (k % windowsPerStep != 0) {
            throw new IllegalStateException("the reader position is only defined at a step boundary: this rank has read "
                    + k + " windows, not a multiple of its " + windowsPerStep + " windows per step");
        }
        return start + k / windowsPerStep * windowsPerWorldStep();
    }
}
