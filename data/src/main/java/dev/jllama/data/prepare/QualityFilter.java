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
        if (text.codePointCount(0, text.length()) < minChars) return Verdict.TOO_SHORT;
        return symbolRatio(text) > maxSymbolRatio ? Verdict.TOO_SYMBOLIC : Verdict.KEEP;
    }

    /** Fraction of non-whitespace code points that are neither letters nor digits (0 for empty text). */
    public static double symbolRatio(String text) {
        long visible = 0;
        long symbols = 0;
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            i += Character.charCount(cp);
            if (Character.isWhitespace(cp) || Character.isSpaceChar(cp)) continue;
            visible++;
            if (!Character.isLetterOrDigit(cp) && Character.getType(cp) != Character.NON_SPACING_MARK
                    && Character.getType(cp) != Character.COMBINING_SPACING_MARK) {
                symbols++;
            }
        }
        return visible == 0 ? 0 : (double) symbols / visible;
    }
}
