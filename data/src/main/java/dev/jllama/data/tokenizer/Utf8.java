package dev.jllama.data.tokenizer;

/**
 * UTF-8 to code points with the replacement policy of Python's {@code bytes.decode('utf-8', errors='replace')}
 * (Unicode's "maximal subpart" practice): each maximal invalid subsequence becomes one U+FFFD. Java strings
 * with unpaired surrogates map their lone surrogates to U+FFFD as well.
 */
final class Utf8 {
    static final int REPLACEMENT = 0xFFFD;

    private Utf8() {}

    /** Decodes {@code len} bytes into {@code out} (needs {@code len} slots); returns the number of code points. */
    static int decode(byte[] b, int off, int len, int[] out) {
        int n = 0, i = off, end = off + len;
        while (i < end) {
            int c = b[i] & 0xFF;
            if (c < 0x80) {
                out[n++] = c;
                i++;
                continue;
            }
            int need, min2 = 0x80, max2 = 0xBF, cp;
            if (c >= 0xC2 && c <= 0xDF) {
                need = 1;
                cp = c & 0x1F;
            } else if (c >= 0xE0 && c <= 0xEF) {
                need = 2;
                cp = c & 0x0F;
                if (c == 0xE0) min2 = 0xA0;
                if (c == 0xED) max2 = 0x9F; // no surrogates
            } else if (c >= 0xF0 && c <= 0xF4) {
                need = 3;
                cp = c & 0x07;
                if (c == 0xF0) min2 = 0x90;
                if (c == 0xF4) max2 = 0x8F;
            } else {
                out[n++] = REPLACEMENT; // stray continuation byte or never-valid lead byte
                i++;
                continue;
            }
            int j = i + 1;
            boolean ok = true;
            for (int k = 0; k < need; k++, j++) {
                if (j >= end) {
                    ok = false;
                    break;
                }
                int t = b[j] & 0xFF;
                int lo = k == 0 ? min2 : 0x80, hi = k == 0 ? max2 : 0xBF;
                if (t < lo || t > hi) {
                    ok = false;
                    break;
                }
                cp = (cp << 6) | (t & 0x3F);
            }
            out[n++] = ok ? cp : REPLACEMENT; // on failure, the lead and the valid tail so far form one subpart
            i = j;
        }
        return n;
    }

    /** Code points of a Java string; returns the count written to {@code out} (needs {@code s.length()} slots). */
    static int codePoints(String s, int[] out) {
        int n = 0, len = s.length();
        for (int i = 0; i < len; ) {
            char ch = s.charAt(i++);
            if (Character.isHighSurrogate(ch) && i < len && Character.isLowSurrogate(s.charAt(i))) {
                out[n++] = Character.toCodePoint(ch, s.charAt(i++));
            } else if (Character.isSurrogate(ch)) {
                out[n++] = REPLACEMENT;
            } else {
                out[n++] = ch;
            }
        }
        return n;
    }

    /** Appends the UTF-8 bytes of one code point; returns the new length. */
    static int encode(int cp, byte[] out, int at) {
        if (cp < 0x80) {
            out[at++] = (byte) cp;
        } else if (cp < 0x800) {
            out[at++] = (byte) (0xC0 | (cp >> 6));
            out[at++] = (byte) (0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out[at++] = (byte) (0xE0 | (cp >> 12));
            out[at++] = (byte) (0x80 | ((cp >> 6) & 0x3F));
            out[at++] = (byte) (0x80 | (cp & 0x3F));
        } else {
            out[at++] = (byte) (0xF0 | (cp >> 18));
            out[at++] = (byte) (0x80 | ((cp >> 12) & 0x3F));
            out[at++] = (byte) (0x80 | ((cp >> 6) & 0x3F));
            out[at++] = (byte) (0x80 | (cp & 0x3F));
        }
        return at;
    }
}
