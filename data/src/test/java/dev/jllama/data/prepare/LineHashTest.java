package dev.jllama.data.prepare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import org.junit.jupiter.api.Test;

/** CCNet's line normalisation, and that the frequent-line filter matches lines through it. */
class LineHashTest {

    @Test
    void normalisesCaseDigitsPunctuationAndSpaces() {
        assertEquals("subscribe now 00 off", LineHash.normalize("  SUBSCRIBE, now -- 25% off!!  "));
        assertEquals("page 0 of 00", LineHash.normalize("Page 3 of 17"));
        assertEquals("a b", LineHash.normalize("a\t\u00a0 b"));
        assertEquals("dont stop", LineHash.normalize("\u201cDon\u2019t  stop\u201d"));
        // Symbols and letters of other scripts are not punctuation; Arabic-Indic digits are digits.
        assertEquals("\u20ac0 \u00e9t\u00e9 \u0430\u0431 0", LineHash.normalize("\u20ac5 \u00c9T\u00c9 \u0410\u0431 \u0663"));
        assertEquals("", LineHash.normalize(" ... -- !? "));
    }

    @Test
    void trivialVariantsShareAHashAndRealDifferencesDoNot() {
        long h = LineHash.hash("Subscribe to our newsletter for more stories!");
        assertEquals(h, LineHash.hash("subscribe to our NEWSLETTER, for more stories"));
        assertEquals(h, LineHash.hash("  Subscribe   to our newsletter for more stories...  "));
        assertEquals(LineHash.hash("Posted on 2023-01-05 at 10:15"), LineHash.hash("posted on 1999/12/31 at 23.59"));
        assertNotEquals(h, LineHash.hash("Subscribe to our newsletter for more recipes!"));
        assertNotEquals(h, LineHash.hash("Subscribe to our newsletters for more stories!"));
    }

    @Test
    void punctuationOnlyLinesAreNeverCounted() {
        assertEquals(0, LineHash.hash("* * *"));
        assertEquals(0, LineHash.hash("   "));
        assertNotEquals(0, LineHash.hash("0"));
    }

    @Test
    void filterRemovesEveryVariantOfAFrequentLineAndKeepsParagraphs() {
        long[] frequent = {LineHash.hash("Read more at example dot com")};
        String text = "First paragraph.\nREAD MORE, at Example dot com!\n\nSecond paragraph.\nread more at example dot com";
        LineFilter.Result r = LineFilter.apply(text, frequent);
        assertEquals("First paragraph.\n\nSecond paragraph.", r.text());
        assertEquals(4, r.lines());
        assertEquals(2, r.removed());
        LineFilter.Result untouched = LineFilter.apply("Nothing to remove.\n\nAt all.", frequent);
        assertEquals("Nothing to remove.\n\nAt all.", untouched.text());
        assertEquals(0, untouched.removed());
    }
}
