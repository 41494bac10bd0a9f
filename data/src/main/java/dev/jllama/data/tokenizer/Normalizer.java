package dev.jllama.data.tokenizer;

import java.io.Serializable;

/**
 * SentencePiece's normalizer (normalizer.cc, 0.1.97): with {@code remove_extra_whitespaces} leading, trailing and
 * repeated spaces (U+0020 after normalization) are dropped, {@code add_dummy_prefix} puts one space before the
 * text, and {@code escape_whitespaces} writes each space as U+2581 (▁); a trailing literal ▁ is trimmed too.
 * Identity normalization (LLaMA's) works on code points directly; a precompiled charsmap (e.g. nmt_nfkc) is
 * applied on UTF-8 bytes as SentencePiece does, with user-defined pieces passed through unchanged.
 */
final class Normalizer implements Serializable {
    private static final long serialVersionUID = 1L;
    static final int SPACE_SYMBOL = 0x2581;

    private final boolean addDummyPrefix;
    private final boolean removeExtraWhitespaces;
    private final boolean escapeWhitespaces;

    private final CharsMap charsMap;
    private final byte[][] userDefined;

    Normalizer(boolean addDummyPrefix, boolean removeExtraWhitespaces, boolean escapeWhitespaces) {
        this(addDummyPrefix, removeExtraWhitespaces, escapeWhitespaces, null, java.util.List.of());
    }

    Normalizer(boolean addDummyPrefix, boolean removeExtraWhitespaces, boolean escapeWhitespaces, CharsMap charsMap,
            java.util.List<String> userDefined) {
        this.addDummyPrefix = addDummyPrefix;
        this.removeExtraWhitespaces = removeExtraWhitespaces;
        this.escapeWhitespaces = escapeWhitespaces;
        this.charsMap = charsMap;
        this.userDefined = userDefined.stream().map(u -> u.getBytes(java.nio.charset.StandardCharsets.UTF_8))
                .sorted((a, b) -> b.length - a.length).toArray(byte[][]::new);
    }

    /** Normalizes {@code in[0..n)} into {@code out}, growing it as needed. */
    void normalize(int[] in, int n, CodePoints out) {
        if (charsMap == null) {
            out.ensure(capacity(n));
            out.size = normalize(in, n, out.data);
        } else {
            normalizeWithCharsMap(in, n, out);
        }
    }

    /** Growable code point array. */
    static final class CodePoints {
        int[] data = new int[257];
        int size;

        void ensure(int n) {
            if (data.length < n) data = new int[Math.max(n, data.length * 2)];
        }
    }

    private static final byte[] SPACE_BYTES = {(byte) 0xE2, (byte) 0x96, (byte) 0x81};

    private void normalizeWithCharsMap(int[] in, int n, CodePoints out) {
        CharsMap.ByteBuffer src = new CharsMap.ByteBuffer();
        byte[] one = new byte[4];
        for (int i = 0; i < n; i++) {
            int len = Utf8.encode(in[i], one, 0);
            for (int k = 0; k < len; k++) src.add(one[k]);
        }
        byte[] s = src.data;
        int end = src.size, pos = 0;
        CharsMap.ByteBuffer sp = new CharsMap.ByteBuffer();
        int[] value = new int[1];
        if (removeExtraWhitespaces) {
            while (pos < end) {
                sp.size = 0;
                int consumed = prefix(s, pos, end, sp, value);
                if (sp.size != 1 || sp.data[0] != ' ') break;
                pos += consumed;
            }
        }
        out.size = 0;
        if (pos == end) return;
        CharsMap.ByteBuffer dst = new CharsMap.ByteBuffer();
        if (addDummyPrefix) appendSpace(dst);
        boolean prevSpace = removeExtraWhitespaces;
        while (pos < end) {
            sp.size = 0;
            int consumed = prefix(s, pos, end, sp, value);
            int from = 0;
            if (prevSpace && removeExtraWhitespaces) while (from < sp.size && sp.data[from] == ' ') from++;
            if (from < sp.size) {
                for (int k = from; k < sp.size; k++) {
                    if (sp.data[k] == ' ' && escapeWhitespaces) appendSpace(dst);
                    else dst.add(sp.data[k]);
                }
                prevSpace = sp.data[sp.size - 1] == ' ';
            }
            pos += consumed;
            if (!removeExtraWhitespaces) prevSpace = false;
        }
        if (removeExtraWhitespaces) {
            int unit = escapeWhitespaces ? 3 : 1;
            while (dst.size >= unit && endsWithSpace(dst)) dst.size -= unit;
        }
        out.ensure(dst.size + 1);
        out.size = Utf8.decode(dst.data, 0, dst.size, out.data);
    }

    private boolean endsWithSpace(CharsMap.ByteBuffer b) {
        if (!escapeWhitespaces) return b.data[b.size - 1] == ' ';
        return b.data[b.size - 3] == SPACE_BYTES[0] && b.data[b.size - 2] == SPACE_BYTES[1] && b.data[b.size - 1] == SPACE_BYTES[2];
    }

    private void appendSpace(CharsMap.ByteBuffer b) {
        if (escapeWhitespaces) for (byte x : SPACE_BYTES) b.add(x);
        else b.add((byte) ' ');
    }

    /** SentencePiece's NormalizePrefix: a user-defined piece as is, else the longest charsmap key, else one character. */
    private int prefix(byte[] s, int pos, int end, CharsMap.ByteBuffer sp, int[] value) {
        outer:
        for (byte[] u : userDefined) {
            if (u.length > end - pos) continue;
            for (int k = 0; k < u.length; k++) if (s[pos + k] != u[k]) continue outer;
            for (byte x : u) sp.add(x);
            return u.length;
        }
        int matched = charsMap.longestMatch(s, pos, end, value);
        if (matched > 0) {
            charsMap.appendReplacement(value[0], sp);
            return matched;
        }
        int lead = s[pos] & 0xFF;
        int len = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4; // input is valid UTF-8 here
        len = Math.min(len, end - pos);
        for (int k = 0; k < len; k++) sp.add(s[pos + k]);
        return len;
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
