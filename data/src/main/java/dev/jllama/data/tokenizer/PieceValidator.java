package dev.jllama.data.tokenizer;

/**
 * Which merged strings may become pieces: SentencePiece's TrainerInterface::IsValidSentencePiece for
 * split_by_whitespace=true. ▁ only as a prefix (or whole whitespace-only pieces when allowed), no NUL, no tab
 * (SentencePiece's pre-tokenization boundary), no U+2585 (its unknown marker), digits alone when digits are
 * split, and one Unicode script per piece (Hiragana and Katakana count as Han, combining marks take the script
 * before them). Scripts come from {@link Character.UnicodeScript}, SentencePiece uses its own table of an
 * older Unicode version, so newly assigned characters may differ.
 */
final class PieceValidator {
    private static final int WS = Normalizer.SPACE_SYMBOL;
    private static final int ANY = -1;

    private final BpeTrainerOptions options;

    PieceValidator(BpeTrainerOptions options) {
        this.options = options;
    }

    boolean isValid(int[] cps) {
        if (cps.length == 0 || cps.length > options.maxPieceLength()) return false;
        boolean allWhitespace = true;
        for (int c : cps) allWhitespace &= c == WS;
        int prevScript = ANY;
        for (int pos = 0; pos < cps.length; pos++) {
            int c = cps[pos];
            if (c == 0x2585 || c == 0 || c == '\t') return false;
            if (c == WS) {
                if ((!options.allowWhitespaceOnlyPieces() || !allWhitespace) && pos > 0) return false;
                continue;
            }
            int script = script(c);
            if (script == Character.UnicodeScript.INHERITED.ordinal()) script = prevScript;
            boolean digit = (c >= '0' && c <= '9') || (c >= 0xFF10 && c <= 0xFF19);
            if (options.splitDigits() && digit && cps.length > 1) return false;
            if (options.splitByUnicodeScript() && script != ANY && prevScript != ANY && prevScript != script) return false;
            prevScript = script;
        }
        return true;
    }

    private static int script(int c) {
        if (c == 0x30FC) return Character.UnicodeScript.HAN.ordinal();
        Character.UnicodeScript s = Character.UnicodeScript.of(c);
        return switch (s) {
            case HIRAGANA, KATAKANA -> Character.UnicodeScript.HAN.ordinal();
            case UNKNOWN -> Character.UnicodeScript.COMMON.ordinal(); // SentencePiece's default script
            default -> s.ordinal();
        };
    }
}
