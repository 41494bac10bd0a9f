package dev.jllama.data.prepare;

/**
 * Simple document filters, in the spirit of the heuristics in the Gopher/C4 pipelines.
 *
 * @param minChars       documents shorter than this (after cleanup and line removal) are dropped
 * @param maxSymbolRatio documents where more than this fraction of the non-space characters are neither letters
 *                       nor digits are dropped (tables of numbers are kept; markup soup and ASCII art are not)
 */
public record QualityFilter(int minChars, double maxSymbolRatio) implements java.io.Serializable {

    /** TOO_SHORT and TOO_SYMBOLIC fail this filter's two rules; FILTERED fails another clause ({@link FilterExpression}). */
    public enum Verdict { KEEP, TOO_SHORT, TOO_SYMBOLIC, FILTERED }

    public QualityFilter {
        if (minChars < 0) throw new IllegalArgumentException("min chars must be >= 0, got " + minChars);
        if (!(maxSymbolRatio >= 0 && maxSymbolRatio <= 1)) {
            throw new IllegalArgumentException("max symbol ratio must be in [0, 1], got " + maxSymbolRatio);
        }
    }

    public Verdict judge(String text) {
        // At least half as many code points as chars: only a short text needs counting.
        if (text.length() < 2L * minChars && text.codePointCount(0, text.length()) < minChars) return Verdict.TOO_SHORT;
        return symbolRatio(text) > maxSymbolRatio ? Verdict.TOO_SYMBOLIC : Verdict.KEEP;
    }

    /** Fraction of non-whitespace code points that are neither letters nor digits (0 for empty text). */
    public static double symbolRatio(String text) {
        long visible = 0;
        long symbols = 0;
        for (int i = 0; i < text.length(); ) {
            char ch = text.charAt(i);
            int kind;
            if (ch < 128) {
                kind = ASCII[ch];
                i++;
            } else {
                int cp = text.codePointAt(i);
                kind = kindOf(cp);
                i += Character.charCount(cp);
            }
            if (kind == SPACE) continue;
            visible++;
            if (kind == SYMBOL) symbols++;
        }
        return visible == 0 ? 0 : (double) symbols / visible;
    }

    private static final byte SPACE = 0, WORD = 1, SYMBOL = 2;
    /** {@link #kindOf} of each ASCII character. */
    private static final byte[] ASCII = new byte[128];

    static {
        for (int c = 0; c < 128; c++) ASCII[c] = kindOf(c);
    }

    /** Whitespace; a letter, digit or mark; or a symbol. */
    private static byte kindOf(int cp) {
        if (Character.isWhitespace(cp) || Character.isSpaceChar(cp)) return SPACE;
        int type = Character.getType(cp);
        return Character.isLetterOrDigit(cp) || type == Character.NON_SPACING_MARK
                || type == Character.COMBINING_SPACING_MARK ? WORD : SYMBOL;
    }
}
