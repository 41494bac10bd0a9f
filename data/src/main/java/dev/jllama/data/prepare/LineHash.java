package dev.jllama.data.prepare;

import dev.jllama.data.shard.SplitMix64;

/**
 * CCNet-style line fingerprints for removing frequently repeated lines (boilerplate: menus, cookie notices,
 * "Thank you"). A line is normalised before hashing — lower case, every digit made 0, punctuation removed,
 * spaces collapsed — so that trivially different copies count as one line.
 */
public final class LineHash {
    private LineHash() {}

    /** CCNet's normalize_for_dedup; empty for lines with nothing but punctuation and spaces. */
    public static String normalize(String line) {
        StringBuilder b = new StringBuilder(line.length());
        boolean space = false;
        for (int i = 0; i < line.length(); ) {
            int cp = line.codePointAt(i);
            i += Character.charCount(cp);
            if (Character.isWhitespace(cp) || Character.isSpaceChar(cp)) {
                space = !b.isEmpty();
                continue;
            }
            if (isPunctuation(cp)) continue;
            if (space) {
                b.append(' ');
                space = false;
            }
            if (Character.isDigit(cp)) b.append('0');
            else b.appendCodePoint(Character.toLowerCase(cp));
        }
        return b.toString();
    }

    static boolean isPunctuation(int cp) {
        return switch (Character.getType(cp)) {
            case Character.CONNECTOR_PUNCTUATION, Character.DASH_PUNCTUATION, Character.START_PUNCTUATION,
                 Character.END_PUNCTUATION, Character.INITIAL_QUOTE_PUNCTUATION, Character.FINAL_QUOTE_PUNCTUATION,
                 Character.OTHER_PUNCTUATION -> true;
            default -> false;
        };
    }

    static final long FNV_OFFSET = 0xcbf29ce484222325L;
    private static final long FNV_PRIME = 0x100000001b3L;
    /** What {@link #normalizedAt} gives for a whitespace character, and for one that is dropped (punctuation). */
    static final int WHITESPACE = -1, DROPPED = -2;
    /** {@link #normalizedAt}'s value for each ASCII character. */
    private static final int[] ASCII = new int[128];

    static {
        for (int c = 0; c < 128; c++) ASCII[c] = normalized(c);
    }

    /** What {@link #normalize} makes of one code point: {@link #WHITESPACE}, {@link #DROPPED} or the one it keeps. */
    private static int normalized(int cp) {
        if (Character.isWhitespace(cp) || Character.isSpaceChar(cp)) return WHITESPACE;
        if (isPunctuation(cp)) return DROPPED;
        return Character.isDigit(cp) ? '0' : Character.toLowerCase(cp);
    }

    /**
     * The code point at {@code i} of {@code text} (a surrogate pair only when both halves lie before {@code to}) as
     * {@link #normalize} treats it, in the low 32 bits, and the index after it in the high 32; ASCII through a table.
     */
    static long normalizedAt(String text, int i, int to) {
        char ch = text.charAt(i);
        if (ch < 128) return ((long) (i + 1) << 32) | (ASCII[ch] & 0xFFFFFFFFL);
        int cp = ch;
        if (Character.isHighSurrogate(ch) && i + 1 < to && Character.isLowSurrogate(text.charAt(i + 1))) {
            cp = Character.toCodePoint(ch, text.charAt(i + 1));
        }
        return ((long) (i + Character.charCount(cp)) << 32) | (normalized(cp) & 0xFFFFFFFFL);
    }

    /** One FNV-1a step over each UTF-16 unit of {@code cp}. */
    static long fnv(long h, int cp) {
        if (Character.isBmpCodePoint(cp)) return (h ^ cp) * FNV_PRIME;
        h = (h ^ Character.highSurrogate(cp)) * FNV_PRIME;
        return (h ^ Character.lowSurrogate(cp)) * FNV_PRIME;
    }

    /** 64-bit FNV-1a over the normalised line's UTF-16 units, finished with a SplitMix64 mix; 0 means "skip". */
    public static long hash(String line) {
        return hash(line, 0, line.length());
    }

    /**
     * {@link #hash(String)} of {@code text[from, to)}, normalising and hashing in one pass without building the
     * normalised string (ASCII through a table, anything else as {@link #normalize} treats it).
     */
    public static long hash(String text, int from, int to) {
        long h = FNV_OFFSET;
        boolean any = false; // a character has been kept (normalize's non-empty builder)
        boolean space = false; // a space is due before the next kept character
        for (int i = from; i < to; ) {
            long step = normalizedAt(text, i, to);
            i = (int) (step >>> 32);
            int cp = (int) step;
            if (cp == WHITESPACE) {
                space = any;
            } else if (cp != DROPPED) {
                if (space) h = fnv(h, ' ');
                space = false;
                h = fnv(h, cp);
                any = true;
            }
        }
        if (!any) return 0;
        long m = SplitMix64.mix(h);
        return m == 0 ? 1 : m;
    }
}
