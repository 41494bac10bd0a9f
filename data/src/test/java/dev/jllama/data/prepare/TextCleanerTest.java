package dev.jllama.data.prepare;

import static org.junit.jupiter.api.Assertions.assertEquals;

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
}
