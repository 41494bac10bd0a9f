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
    static final long FNV_PRIME = 0x100000001b3L;
    /** What {@link #normalize} does with each ASCII character: a space, dropped, or this char. */
    static final char[] ASCII = new char[128];
    static final char SPACE = 0xFFFF, DROP = 0xFFFE;

    static {
        for (int c = 0; c < 128; c++) {
            ASCII[c] = Character.isWhitespace(c) || Character.isSpaceChar(c) ? SPACE
                    : isPunctuation(c) ? DROP
                    : Character.isDigit(c) ? '0'
                    : (char) Character.toLowerCase(c);
        }
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
            char ch = text.charAt(i);
            int cp;
            if (ch < 128) {
                i++;
                char mapped = ASCII[ch];
                if (mapped == SPACE) {
                    space = any;
                    continue;
                }
                if (mapped == DROP) continue;
                cp = mapped;
            } else {
                cp = ch;
                if (Character.isHighSurrogate(ch) && i + 1 < to && Character.isLowSurrogate(text.charAt(i + 1))) {
                    cp = Character.toCodePoint(ch, text.charAt(i + 1));
                }
                i += Character.charCount(cp);
                if (Character.isWhitespace(cp) || Character.isSpaceChar(cp)) {
                    space = any;
                    continue;
                }
                if (isPunctuation(cp)) continue;
                cp = Character.isDigit(cp) ? '0' : Character.toLowerCase(cp);
            }
            if (space) {
                h = (h ^ ' ') * FNV_PRIME;
                space = false;
            }
            if (Character.isBmpCodePoint(cp)) {
                h = (h ^ cp) * FNV_PRIME;
            } else {
                h = (h ^ Character.highSurrogate(cp)) * FNV_PRIME;
                h = (h ^ Character.lowSurrogate(cp)) * FNV_PRIME;
            }
            any = true;
        }
        if (!any) return 0;
        long m = SplitMix64.mix(h);
        return m == 0 ? 1 : m;
    }
}
