package dev.jllama.data.prepare;

import dev.jllama.data.shard.SplitMix64;

/**
 * Words for near-duplicate detection and decontamination: the text normalised as for line dedup
 * ({@link LineHash#normalize}: lower case, digits as 0, punctuation removed, whitespace collapsed) and split at
 * spaces, each word as a 64-bit hash; an n-gram's hash combines its words' hashes in order.
 */
final class Words {
    private Words() {}

    private static final long FNV_OFFSET = LineHash.FNV_OFFSET;

    /**
     * The hashes of {@code LineHash.normalize(text).split(" ")} (none for an empty normalisation): FNV-1a over each
     * word's UTF-16 units, finished with a SplitMix64 mix. Normalises and hashes in one pass, without building the
     * normalised string (ASCII through a table, anything else as {@link LineHash#normalize} treats it).
     */
    static long[] hashes(String text) {
        long[] out = new long[Math.max(4, text.length() / 5)];
        int w = 0;
        long h = FNV_OFFSET;
        boolean any = false; // a character has been kept (normalize's non-empty builder)
        boolean space = false; // a space is due before the next character (normalize's pending space)
        for (int i = 0, n = text.length(); i < n; ) {
            long step = LineHash.normalizedAt(text, i, n);
            i = (int) (step >>> 32);
            int cp = (int) step;
            if (cp == LineHash.WHITESPACE) {
                space = any;
            } else if (cp != LineHash.DROPPED) {
                if (space) { // a word ends
                    if (w == out.length) out = java.util.Arrays.copyOf(out, out.length * 2);
                    out[w++] = SplitMix64.mix(h);
                    h = FNV_OFFSET;
                    space = false;
                }
                h = LineHash.fnv(h, cp);
                any = true;
            }
        }
        if (!any) return new long[0];
        if (w == out.length) out = java.util.Arrays.copyOf(out, out.length + 1);
        out[w++] = SplitMix64.mix(h);
        return java.util.Arrays.copyOf(out, w);
    }

    /** Hash of the {@code n} words starting at {@code start}. */
    static long ngram(long[] words, int start, int n) {
        long h = n;
        for (int i = start; i < start + n; i++) h = SplitMix64.mix(h * 0x9E3779B97F4A7C15L + words[i]);
        return h;
    }
}
