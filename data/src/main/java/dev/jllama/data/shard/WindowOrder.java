package dev.jllama.data.shard;

/**
 * The global window stream of a split: a pure function of (shard token counts, seqLen, windows per block, seed),
 * so every rank computes it alone and a resumed reader replays it.
 * <p>
 * Window w of a shard covers its tokens [w·seqLen, w·seqLen + seqLen + 1). Each shard's windows are grouped into
 * blocks of {@code windowsPerBlock} consecutive windows (its last block may be shorter); block ids run over all
 * shards in manifest order. Epoch e reads every block once, in a permutation seeded by (seed, e, -1), and the
 * windows of each block in a permutation seeded by (seed, e, block). The stream is epoch 0, then epoch 1, and so
 * on without end, so global index g lies in epoch g / windowsPerEpoch.
 * <p>
 * Not thread-safe: it caches the layouts of the two epochs used last.
 */
final class WindowOrder {
    private final int seqLen;
    private final int windowsPerBlock;
    private final long seed;
    private final int[] shardWindows;
    /** firstBlock[s] is the id of shard s's first block; firstBlock[shards] is the number of blocks. */
    private final int[] firstBlock;
    private final long windowsPerEpoch;
    private EpochLayout recent;
    private EpochLayout older;

    /** Where a global index lies: its epoch, its block and the global indices [start, end) of that block's visit. */
    record Placement(long epoch, int block, long start, long end) {}

    /** One epoch's block order and, for each ordinal, the first epoch offset of that block (plus the total). */
    private record EpochLayout(long epoch, int[] blocks, long[] starts) {}

    WindowOrder(long[] shardTokens, int seqLen, int windowsPerBlock, long seed) {
        if (seqLen <= 0) throw new IllegalArgumentException("seqLen must be positive, got " + seqLen);
        if (windowsPerBlock <= 0) throw new IllegalArgumentException("windowsPerBlock must be positive, got " + windowsPerBlock);
        this.seqLen = seqLen;
        this.windowsPerBlock = windowsPerBlock;
        this.seed = seed;
        this.shardWindows = new int[shardTokens.length];
        this.firstBlock = new int[shardTokens.length + 1];
        long windows = 0;
        long blocks = 0;
        for (int s = 0; s < shardTokens.length; s++) {
            long n = shardTokens[s];
            shardWindows[s] = n <= seqLen ? 0 : Math.toIntExact((n - 1) / seqLen);
            firstBlock[s] = Math.toIntExact(blocks);
            blocks += (shardWindows[s] + windowsPerBlock - 1) / windowsPerBlock;
            windows += shardWindows[s];
        }
        firstBlock[shardTokens.length] = Math.toIntExact(blocks);
        this.windowsPerEpoch = windows;
    }

    /** Windows per block for shards of {@code tokenWidth}-byte tokens whose CRC blocks hold {@code blockBytes}. */
    static int windowsPerBlock(int blockBytes, int seqLen, int tokenWidth) {
        return (int) Math.max(1, blockBytes / ((long) seqLen * tokenWidth));
    }

    int seqLen() {
        return seqLen;
    }

    long windowsPerEpoch() {
        return windowsPerEpoch;
    }

    int blocks() {
        return firstBlock[firstBlock.length - 1];
    }

    int shardOf(int block) {
        int lo = 0;
        int hi = shardWindows.length - 1;
        while (lo < hi) { // last shard whose first block is <= block; shards without blocks are skipped over
            int mid = (lo + hi + 1) >>> 1;
            if (firstBlock[mid] <= block) lo = mid;
            else hi = mid - 1;
        }
        return lo;
    }

    /** Index within its shard of the block's first window. */
    int firstWindowOf(int block) {
        return (block - firstBlock[shardOf(block)]) * windowsPerBlock;
    }

    int windowsOf(int block) {
        return Math.min(windowsPerBlock, shardWindows[shardOf(block)] - firstWindowOf(block));
    }

    /** The block visit that global index {@code g} falls in. */
    Placement locate(long g) {
        if (g < 0) throw new IllegalArgumentException("global window index must be >= 0, got " + g);
        long epoch = g / windowsPerEpoch;
        long offset = g % windowsPerEpoch;
        EpochLayout layout = layout(epoch);
        int lo = 0;
        int hi = layout.blocks.length - 1;
        while (lo < hi) { // last ordinal whose start is <= offset
            int mid = (lo + hi + 1) >>> 1;
            if (layout.starts[mid] <= offset) lo = mid;
            else hi = mid - 1;
        }
        long base = epoch * windowsPerEpoch;
        return new Placement(epoch, layout.blocks[lo], base + layout.starts[lo], base + layout.starts[lo + 1]);
    }

    /** Order in which epoch {@code epoch} reads the windows of {@code block}: offsets from its first window. */
    int[] windowOrderInBlock(long epoch, int block) {
        return new SplitMix64(SplitMix64.seed(seed, epoch, block)).permutation(windowsOf(block));
    }

    /** Block ids in the order epoch {@code epoch} reads them. */
    int[] blockOrder(long epoch) {
        return new SplitMix64(SplitMix64.seed(seed, epoch, -1)).permutation(blocks());
    }

    private EpochLayout layout(long epoch) {
        if (recent != null && recent.epoch == epoch) return recent;
        if (older != null && older.epoch == epoch) {
            EpochLayout l = older;
            older = recent;
            recent = l;
            return l;
        }
        int[] blocks = blockOrder(epoch);
        long[] starts = new long[blocks.length + 1];
        for (int k = 0; k < blocks.length; k++) starts[k + 1] = starts[k] + windowsOf(blocks[k]);
        older = recent;
        recent = new EpochLayout(epoch, blocks, starts);
        return recent;
    }
}
