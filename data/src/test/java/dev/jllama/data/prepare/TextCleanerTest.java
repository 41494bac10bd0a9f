package dev.jllama.data.prepare;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.text.Normalizer;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Every rule of {@link TextCleaner}'s contract, one at a time. */
class TextCleanerTest {

    @Test
    void composesCanonicallyEquivalentSequences() {
        // e + COMBINING ACUTE -> é; A + COMBINING RING -> Å; Hangul jamo -> one syllable.
        assertEquals("caf\u00e9 \u00c5ngstr\u00f6m \uAC00", TextCleaner.clean("cafe\u0301 A\u030angstro\u0308m \u1100\u1161"));
        // The decomposed and the precomposed spelling clean to the same string (so they deduplicate as one document).
        assertEquals(TextCleaner.clean("na\u00efve"), TextCleaner.clean("nai\u0308ve"));
    }

    @Test
    void keepsCompatibilityCharactersThatOnlyNfkcWouldRewrite() {
        String text = "\ufb01le x\u00b2 \uff21\uff22 \u2460";
        assertEquals(text, TextCleaner.clean(text));
    }

    @Test
    void everyKindOfLineBreakBecomesNewline() {
        assertEquals("a\nb\nc\nd\ne\nf\ng\nh", TextCleaner.clean("a\r\nb\rc\u0085d\u2028e\u2029f\u000bg\u000ch"));
    }

    @Test
    void tabsAndUnicodeSpacesBecomeOneSpace() {
        assertEquals("a b c d e f", TextCleaner.clean("a\tb\u00a0c\u2003d\u3000e \t\u202f f"));
    }

    @Test
    void removesControlsMarksAndNonCharacters() {
        // C0 and C1 controls, BOM, zero-width space, U+FFFE/U+FFFF and U+FDD0 non-characters, a lone surrogate.
        String dirty = "\ufeffa\u0000b\u0007c\u001bd\u0080e\u009ff\u200bg\ufffeh\uffffi\ufdd0j\ud800k";
        assertEquals("abcdefghijk", TextCleaner.clean(dirty));
        // A supplementary-plane non-character (U+1FFFE) goes too; a paired surrogate (an emoji) stays.
        assertEquals("x\ud83d\ude80y", TextCleaner.clean("x\ud83f\udffe\ud83d\ude80y"));
    }

    @Test
    void trimsLinesAndCollapsesBlankRuns() {
        assertEquals("first line\nsecond\n\nthird", TextCleaner.clean("\n\n  first   line  \n second\t\n \n\t\n\u00a0\n  third  \n\n"));
        assertEquals("one paragraph\n\nnext", TextCleaner.clean("one paragraph\n\n\n\n\nnext"));
    }

    @Test
    void aCarriageReturnAtTheVeryEndAndTheNonCharacterRangeEdges() {
        assertEquals("a", TextCleaner.clean("a\r"));
        assertEquals("ab", TextCleaner.clean("a\ufdefb"));
        assertEquals("a\ufdf0\ufdcfb", TextCleaner.clean("a\ufdf0\ufdcfb"), "assigned characters beside the range stay");
    }

    @Test
    void blankDocumentsCleanToEmpty() {
        assertEquals("", TextCleaner.clean(""));
        assertEquals("", TextCleaner.clean(" \t\n\r\n\u2028\u0000\ufeff \n"));
    }

    /** The cleanup as first written: each line built apart, trimmed, and joined. */
    private static String reference(String text) {
        String nfc = Normalizer.normalize(text, Normalizer.Form.NFC);
        StringBuilder out = new StringBuilder();
        StringBuilder line = new StringBuilder();
        int blankRun = 0;
        boolean any = false;
        for (int i = 0; i < nfc.length(); ) {
            int cp = nfc.codePointAt(i);
            int next = i + Character.charCount(cp);
            if (cp == '\r' && next < nfc.length() && nfc.charAt(next) == '\n') {
                next++;
                cp = '\n';
            }
            if (cp == '\n' || cp == '\r' || cp == 0x85 || cp == 0x2028 || cp == 0x2029 || cp == 0x0B || cp == 0x0C) {
                String l = line.toString().strip();
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
            } else if (!removed(cp)) {
                line.appendCodePoint(cp);
            }
            i = next;
        }
        String l = line.toString().strip();
        if (!l.isEmpty()) {
            if (any) out.append(blankRun > 0 ? "\n\n" : "\n");
            out.append(l);
        }
        return out.toString();
    }

    private static boolean removed(int cp) {
        int type = Character.getType(cp);
        return type == Character.CONTROL || type == Character.SURROGATE
                || type == Character.UNASSIGNED && (cp & 0xFFFE) == 0xFFFE || (cp >= 0xFDD0 && cp <= 0xFDEF)
                || cp == 0xFEFF || cp == 0x200B;
    }

    @Test
    void equalsCleaningLineByLineOnRandomText() {
        Random r = new Random(5);
        int[] cps = "aZ9 .\t\n\r\u000b\u000c\u0085\u2028\u00a0\u2003\u0000\u001f\u007f\ufeff\u200be\u0301😀\ufffe\ufdd0"
                .codePoints().toArray();
        cps = java.util.stream.IntStream.concat(java.util.Arrays.stream(cps), java.util.stream.IntStream.of(0xD800, 0xDC00)).toArray();
        for (int n = 0; n < 5000; n++) {
            StringBuilder b = new StringBuilder();
            int len = r.nextInt(30);
            for (int i = 0; i < len; i++) b.appendCodePoint(cps[r.nextInt(cps.length)]);
            String text = b.toString();
            assertEquals(reference(text), TextCleaner.clean(text), () -> text.chars().mapToObj(Integer::toHexString).toList().toString());
        }
    }
}
