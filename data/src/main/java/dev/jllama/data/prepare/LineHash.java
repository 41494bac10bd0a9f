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

    /** 64-bit FNV-1a over the normalised line's UTF-16 units, finished with a SplitMix64 mix; 0 means "skip". */
    public static long hash(String line) {
        String n = normalize(line);
        if (n.isEmpty()) return 0;
        long h = 0xcbf29ce484222325L;
        for (int i = 0; i < n.length(); i++) {
            h ^= n.charAt(i);
            h *= 0x100000001b3L;
        }
        long m = SplitMix64.mix(h);
        return m == 0 ? 1 : m;
    }
}
