package dev.jllama.data.shard;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * A split's tokens in stored order (shards in manifest order), for evaluation: what it reads depends only on the
 * dataset, never on a training seed. Windows are those of {@link WindowOrder} (window w of a shard covers its
 * tokens [w·seqLen, w·seqLen + seqLen + 1)), so consecutive windows share one token and every token of a shard
 * after its first is a target exactly once.
 */
public final class EvalWindows {
    /** Tokens loaded per read when walking a shard: large reads, bounded memory. */
    private static final int READ_TOKENS = 1 << 20;

    private EvalWindows() {}

    /** Windows of {@code seqLen + 1} tokens that {@code split} has in all. */
    public static long count(Dataset dataset, String split, int seqLen) {
        long total = 0;
        for (ShardInfo s : dataset.manifest().split(split).shards()) total += windowsOf(s.tokens(), seqLen);
        return total;
    }

    private static long windowsOf(long shardTokens, int seqLen) {
        return shardTokens <= seqLen ? 0 : (shardTokens - 1) / seqLen;
    }

    /**
     * All windows of {@code split}, or {@code maxWindows} of them spread evenly over the split (window
     * {@code floor(i * total / maxWindows)} for i = 0 .. maxWindows-1) when it has more; {@code maxWindows <= 0}
     * means no cap.
     */
    public static List<int[]> read(Dataset dataset, String split, int seqLen, long maxWindows) throws IOException {
        if (seqLen <= 0) throw new IllegalArgumentException("seqLen must be positive, got " + seqLen);
        long total = count(dataset, split, seqLen);
        long wanted = maxWindows <= 0 ? total : Math.min(total, maxWindows);
        List<ShardInfo> shards = dataset.manifest().split(split).shards();
        BlockLoader loader = dataset.loader(split);
        List<int[]> windows = new ArrayList<>();
        int shard = 0;
        long shardFirstWindow = 0;
        TokenBlock block = null;
        long blockEnd = -1;
        for (long i = 0; i < wanted; i++) {
            long g = wanted == total ? i : (long) ((double) i * total / wanted);
            while (g >= shardFirstWindow + windowsOf(shards.get(shard).tokens(), seqLen)) {
                shardFirstWindow += windowsOf(shards.get(shard).tokens(), seqLen);
                shard++;
                block = null;
            }
            long start = (g - shardFirstWindow) * seqLen;
            if (block == null || start + seqLen + 1 > blockEnd) {
                long shardTokens = shards.get(shard).tokens();
                blockEnd = Math.min(shardTokens, start + Math.max(seqLen + 1, READ_TOKENS));
                block = loader.load(shard, start, blockEnd);
            }
            int[] window = new int[seqLen + 1];
            block.copy(start, window, 0, seqLen + 1);
            windows.add(window);
        }
        return windows;
    }

    /** The first {@code maxTokens} tokens of {@code split} in stored order (all of them if it has fewer). */
    public static int[] tokens(Dataset dataset, String split, long maxTokens) throws IOException {
        List<ShardInfo> shards = dataset.manifest().split(split).shards();
        long total = Math.min(maxTokens, dataset.tokens(split));
        int[] out = new int[Math.toIntExact(total)];
        BlockLoader loader = dataset.loader(split);
        int at = 0;
        for (int s = 0; s < shards.size() && at < out.length; s++) {
            long shardTokens = shards.get(s).tokens();
            for (long from = 0; from < shardTokens && at < out.length; from += READ_TOKENS) {
                int n = (int) Math.min(Math.min(READ_TOKENS, shardTokens - from), out.length - at);
                loader.load(s, from, from + n).copy(from, out, at, n);
                at += n;
            }
        }
        return out;
    }
}
