package dev.jllama.data.prepare;

import dev.jllama.data.shard.SplitMix64;

/**
 * MinHash signatures over word shingles. Hash function i is multiply-shift over the shingle's 64-bit hash,
 * (a_i·x + b_i) >>> 32 with a_i odd, all from a fixed seed, so signatures are the same on every executor and run.
 */
final class MinHash {
    private final NearDedupOptions options;
    private final long[] a;
    private final long[] b;

    MinHash(NearDedupOptions options) {
        this.options = options;
        int n = options.bands() * options.rows();
        a = new long[n];
        b = new long[n];
        SplitMix64 rng = new SplitMix64(0x6a6c6c616d61L); // "jllama"
        for (int i = 0; i < n; i++) {
            a[i] = rng.nextLong() | 1;
            b[i] = rng.nextLong();
        }
    }

    /** Whether the JVM has the Vector API (jdk.incubator.vector); without it the scalar loop gives the same values. */
    private static final boolean VECTOR = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();

    /** The signature; a text with fewer words than a shingle is one shingle of all its words. */
    int[] signature(String text) {
        long[] words = Words.hashes(text);
        int k = Math.min(options.shingleWords(), Math.max(words.length, 1));
        int shingles = Math.max(words.length - k + 1, 1);
        long[] x = new long[shingles];
        if (words.length > 0) for (int s = 0; s < shingles; s++) x[s] = Words.ngram(words, s, k);
        int[] sig = new int[a.length];
        int done = VECTOR ? MinHashLanes.minima(a, b, x, sig) : 0;
        for (int i = done; i < a.length; i++) sig[i] = (int) minimum(a[i], b[i], x);
        return sig;
    }

    /** The least (a·x + b) >>> 32 over the shingle hashes x: one hash function's value. */
    static long minimum(long a, long b, long[] x) {
        long min = Long.MAX_VALUE;
        for (long v : x) min = Math.min(min, (a * v + b) >>> 32);
        return min;
    }

    /** The key of band {@code band}: its rows' values and the band's index hashed together. */
    long bandKey(int[] sig, int band) {
        long h = SplitMix64.mix(band + 1L);
        int from = band * options.rows();
        for (int i = from; i < from + options.rows(); i++) h = SplitMix64.mix(h ^ (sig[i] & 0xFFFFFFFFL));
        return h;
    }

    /** The share of equal values: an unbiased estimate of the two shingle sets' Jaccard similarity. */
    static double similarity(int[] x, int[] y) {
        int equal = 0;
        for (int i = 0; i < x.length; i++) if (x[i] == y[i]) equal++;
        return (double) equal / x.length;
    }
}
