package dev.jllama.data.prepare;

import dev.jllama.data.shard.SplitMix64;

/**
 * Words for near-duplicate detection and decontamination: the text normalised as for line dedup
 * ({@link LineHash#normalize}: lower case, digits as 0, punctuation removed, whitespace collapsed) and split at
 * spaces, each word as a 64-bit hash; an n-gram's hash combines its words' hashes in order.
 */
final class Words {
    private Words() {}

    static long[] hashes(String text) {
        String n = LineHash.normalize(text);
        if (n.isEmpty()) return new long[0];
        int count = 1;
        for (int i = 0; i < n.length(); i++) if (n.charAt(i) == ' ') count++;
        long[] out = new long[count];
        long h = 0xcbf29ce484222325L;
        int w = 0;
        for (int i = 0; i < n.length(); i++) {
            char c = n.charAt(i);
            if (c == ' ') {
                out[w++] = SplitMix64.mix(h);
                h = 0xcbf29ce484222325L;
            } else {
                h = (h ^ c) * 0x100000001b3L;
            }
        }
        out[w] = SplitMix64.mix(h);
        return out;
    }

    /** Hash of the {@code n} words starting at {@code start}. */
    static long ngram(long[] words, int start, int n) {
        long h = n;
        for (int i = start; i < start + n; i++) h = SplitMix64.mix(h * 0x9E3779B97F4A7C15L + words[i]);
        return h;
    }
}
