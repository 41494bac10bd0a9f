package dev.jllama.data.prepare;

import java.text.Normalizer;

/**
 * Unicode normalisation and cleanup applied to every document before deduplication and tokenisation.
 * <p>
 * Why NFC and not NFKC: LLaMA's SentencePiece model (and the bundled one) uses the {@code identity} normalisation
 * rule, so the tokenizer sees exactly the characters we store. NFC only merges canonically equivalent sequences
 * (e + combining acute → é) and never changes meaning; NFKC would also rewrite compatibility characters
 * (ﬁ → fi, ² → 2, full-width → ASCII), which loses information the tokenizer could have learnt.
 * <p>
 * Cleanup: line breaks become {@code \n} (CR LF, CR, U+2028/U+2029, NEL); tabs and every other Unicode space
 * become a plain space; C0/C1 control characters, byte-order marks, zero-width spaces, non-characters and unpaired
 * surrogates are removed; runs of spaces collapse to one; lines are trimmed; runs of blank lines collapse to one
 * blank line; the document is trimmed.
 */
public final class TextCleaner {
    private TextCleaner() {}

    /** What cleanup does with each ASCII character: the character class, from the same rules as the rest. */
    private static final byte[] ASCII = new byte[128];
    private static final byte KEEP = 0, LINE_BREAK = 1, SPACE = 2, REMOVE = 3;

    static {
        for (int c = 0; c < 128; c++) ASCII[c] = classOf(c);
    }

    private static byte classOf(int cp) {
        if (isLineBreak(cp)) return LINE_BREAK;
        if (cp == '\t' || Character.isSpaceChar(cp) || Character.isWhitespace(cp)) return SPACE;
        return isRemoved(cp) ? REMOVE : KEEP;
    }

    /**
     * One pass over the NFC text that writes each kept character once: spaces and line separators are held back
     * and written only before the next kept character, which trims lines, collapses runs of spaces and of blank
     * lines, and trims the document without building each line apart.
     */
    public static String clean(String text) {
        String nfc = Normalizer.normalize(text, Normalizer.Form.NFC);
        int n = nfc.length();
        StringBuilder out = new StringBuilder(n);
        boolean lineHasText = false; // the current line has a kept character
        boolean spaceDue = false; // a space comes before the line's next kept character
        int blankLines = 0; // blank lines since the last line with text
        for (int i = 0; i < n; ) {
            char ch = nfc.charAt(i);
            int cp;
            byte kind;
            if (ch < 128) {
                cp = ch;
                kind = ASCII[ch];
                i++;
                if (ch == '\r' && i < n && nfc.charAt(i) == '\n') i++; // CR LF is one break
            } else {
                cp = nfc.codePointAt(i);
                kind = classOf(cp);
                i += Character.charCount(cp);
            }
            switch (kind) {
                case LINE_BREAK -> {
                    if (!lineHasText) blankLines++;
                    lineHasText = false;
                    spaceDue = false;
                }
                case SPACE -> spaceDue = lineHasText;
                case KEEP -> {
                    if (!lineHasText) {
                        if (!out.isEmpty()) out.append(blankLines > 0 ? "\n\n" : "\n");
                        lineHasText = true;
                        blankLines = 0;
                    } else if (spaceDue) {
                        out.append(' ');
                    }
                    spaceDue = false;
                    if (ch < 128) out.append(ch);
                    else out.appendCodePoint(cp);
                }
                default -> { } // removed
            }
        }
        return out.toString();
    }

    private static boolean isLineBreak(int cp) {
        return cp == '\n' || cp == '\r' || cp == 0x85 || cp == 0x2028 || cp == 0x2029 || cp == 0x0B || cp == 0x0C;
    }

    private static boolean isRemoved(int cp) {
        int type = Character.getType(cp);
        return type == Character.CONTROL
                || type == Character.SURROGATE // unpaired: codePointAt returned a lone surrogate
                || type == Character.UNASSIGNED && (cp & 0xFFFE) == 0xFFFE // U+xxFFFE/FFFF non-characters
                || (cp >= 0xFDD0 && cp <= 0xFDEF)
                || cp == 0xFEFF || cp == 0x200B;
    }
}
