package dev.jllama.data.prepare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import dev.jllama.data.shard.SplitMix64;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
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

    /** The definition: FNV-1a over the UTF-16 units of the normalised line, mixed; 0 for an empty normalisation. */
    private static long reference(String line) {
        String n = LineHash.normalize(line);
        if (n.isEmpty()) return 0;
        long h = 0xcbf29ce484222325L;
        for (int i = 0; i < n.length(); i++) h = (h ^ n.charAt(i)) * 0x100000001b3L;
        long m = SplitMix64.mix(h);
        return m == 0 ? 1 : m;
    }

    /** The filter as first written: split into lines, each hashed apart, the kept ones joined. */
    private static LineFilter.Result referenceFilter(String text, long[] frequentSorted) {
        StringBuilder b = new StringBuilder();
        int counted = 0;
        int removed = 0;
        boolean blankPending = false;
        for (String line : text.split("\n", -1)) {
            if (line.isEmpty()) {
                blankPending = !b.isEmpty();
                continue;
            }
            counted++;
            long h = reference(line);
            if (h != 0 && Arrays.binarySearch(frequentSorted, h) >= 0) {
                removed++;
                continue;
            }
            if (!b.isEmpty()) b.append(blankPending ? "\n\n" : "\n");
            blankPending = false;
            b.append(line);
        }
        return new LineFilter.Result(removed == 0 ? text : b.toString(), counted, removed);
    }

    private static String randomText(Random r, int[] cps, int maxLength) {
        StringBuilder b = new StringBuilder();
        int len = r.nextInt(maxLength);
        for (int i = 0; i < len; i++) b.appendCodePoint(cps[r.nextInt(cps.length)]);
        return b.toString();
    }

    @Test
    void hashingInPlaceEqualsHashingTheNormalisedLine() {
        Random r = new Random(11);
        // Lone surrogates too (0xD83D, 0xDE00), which pair up when drawn in that order.
        int[] cps = java.util.stream.IntStream.concat("aB9 \t.,;!?-_()'\"éÉß\u00a0\u2003٣😀中İ".codePoints(),
                java.util.stream.IntStream.of(0xD83D, 0xDE00)).toArray();
        for (int n = 0; n < 3000; n++) {
            String line = randomText(r, cps, 30);
            assertEquals(reference(line), LineHash.hash(line), line);
            String framed = "x\uD83D" + line + "\uDE00y"; // surrogate halves just outside the range stay outside it
            assertEquals(reference(line), LineHash.hash(framed, 2, 2 + line.length()), line);
        }
    }

    @Test
    void filterEqualsFilteringLineByLine() {
        Random r = new Random(12);
        int[] cps = "ab A. \n\n\n1".codePoints().toArray();
        for (int n = 0; n < 3000; n++) {
            String text = randomText(r, cps, 40);
            List<Long> some = new ArrayList<>();
            for (String line : text.split("\n")) if (r.nextInt(3) == 0 && reference(line) != 0) some.add(reference(line));
            long[] frequent = some.stream().mapToLong(Long::longValue).sorted().distinct().toArray();
            assertEquals(referenceFilter(text, frequent), LineFilter.apply(text, frequent), text);
            assertEquals(referenceFilter(text, new long[0]), LineFilter.apply(text, new long[0]), text);
        }
    }
}
