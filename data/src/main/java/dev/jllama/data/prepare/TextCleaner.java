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

    public static String clean(String text) {
        String nfc = Normalizer.normalize(text, Normalizer.Form.NFC);
        StringBuilder out = new StringBuilder(nfc.length());
        StringBuilder line = new StringBuilder();
        int blankRun = 0;
        boolean any = false;
        int n = nfc.length();
        for (int i = 0; i < n; ) {
            int cp = nfc.codePointAt(i);
            int next = i + Character.charCount(cp);
            if (cp == '\r' && next < n && nfc.charAt(next) == '\n') {
                next++;
                cp = '\n';
            }
            if (isLineBreak(cp)) {
                // Flush the finished line.
                String l = trimSpaces(line);
                line.setLength(0);
                if (l.isEmpty()) {
                    blankRun++;
                } else {
                    if (any) out.append(blankRun > 0 ? "\n\n" : "\n");
                    out.append(l);
                    any = true;
                    blankRun = 0;
                }
            } else if (cp == '\t' || Character.isSpaceChar(cp) || Character.isWhitespace(cp)) {
                if (!line.isEmpty() && line.charAt(line.length() - 1) != ' ') line.append(' ');
            } else if (!isRemoved(cp)) {
                line.appendCodePoint(cp);
            }
            i = next;
        }
        String l = trimSpaces(line);
        if (!l.isEmpty()) {
            if (any) out.append(blankRun > 0 ? "\n\n" : "\n");
            out.append(l);
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

    private static String trimSpaces(StringBuilder line) {
        int end = line.length();
        while (end > 0 && line.charAt(end - 1) == ' ') end--;
        int start = 0;
        while (start < end && line.charAt(start) == ' ') start++;
        return line.substring(start, end);
    }
}
