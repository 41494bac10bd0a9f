package dev.jllama.data.tokenizer;

import java.io.Serializable;

/**
 * SentencePiece's normalizer for models with identity normalization (no precompiled charsmap, as LLaMA's):
 * with {@code remove_extra_whitespaces} leading, trailing and repeated ASCII spaces (only U+0020) are dropped,
 * {@code add_dummy_prefix} puts one space before the text, and {@code escape_whitespaces} writes each space as
 * U+2581 (▁). Mirrors normalizer.cc of SentencePiece 0.1.97, including that a trailing literal ▁ is trimmed too.
 */
final class Normalizer implements Serializable {
    private static final long serialVersionUID = 1L;
    static final int SPACE_SYMBOL = 0x2581;

    private final boolean addDummyPrefix;
    private final boolean removeExtraWhitespaces;
    private final boolean escapeWhitespaces;

    Normalizer(boolean addDummyPrefix, boolean removeExtraWhitespaces, boolean escapeWhitespaces) {
        this.addDummyPrefix = addDummyPrefix;
        this.removeExtraWhitespaces = removeExtraWhitespaces;
        this.escapeWhitespaces = escapeWhitespaces;
    }

    /** Worst-case output length for an input of {@code n} code points. */
    static int capacity(int n) {
        return n + 1;
    }

    /** Normalizes {@code in[0..n)} into {@code out}; returns the output length. */
    int normalize(int[] in, int n, int[] out) {
        int i = 0;
        if (removeExtraWhitespaces) while (i < n && in[i] == ' ') i++;
        if (i == n) return 0;
        int len = 0;
        int space = escapeWhitespaces ? SPACE_SYMBOL : ' ';
        if (addDummyPrefix) out[len++] = space;
        boolean prevSpace = removeExtraWhitespaces;
        for (; i < n; i++) {
            int c = in[i];
            if (c == ' ') {
                if (prevSpace && removeExtraWhitespaces) continue;
                out[len++] = space;
                prevSpace = removeExtraWhitespaces;
            } else {
                out[len++] = c;
                prevSpace = false;
            }
        }
        if (removeExtraWhitespaces) while (len > 0 && out[len - 1] == space) len--;
        return len;
    }

    /** Convenience form for training: the normalized text as a string. */
    String normalize(String text) {
        int[] cps = new int[text.length()];
        int n = Utf8.codePoints(text, cps);
        int[] out = new int[capacity(n)];
        int len = normalize(cps, n, out);
        return new String(out, 0, len);
    }
}
