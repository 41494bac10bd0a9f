package dev.jllama.data.prepare;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Every heuristic signal against values counted by hand. */
class HeuristicSignalsTest {

    private static Map<String, Double> signals(String text) {
        double[] v = HeuristicSignals.compute(text);
        Map<String, Double> m = new LinkedHashMap<>();
        for (int i = 0; i < v.length; i++) m.put(HeuristicSignals.SIGNALS.get(i).name(), v[i]);
        return m;
    }

    private static void check(Map<String, Double> expected, String text) {
        Map<String, Double> actual = signals(text);
        assertEquals(expected.keySet(), actual.keySet(), "every signal is checked");
        for (String name : expected.keySet()) assertEquals(expected.get(name), actual.get(name), 1e-12, name);
    }

    /** Gopher's repetition signals counted on the words themselves (strings, no hashing), for random texts. */
    @Test
    void ngramRepetitionEqualsCountingWordStrings() {
        Random r = new Random(11);
        String[] vocabulary = {"a", "bb", "ccc", "dddd", "é", "ff", "the"};
        for (int t = 0; t < 300; t++) {
            int distinct = 2 + r.nextInt(vocabulary.length - 1); // few words: repeats of every length; many: few
            StringBuilder b = new StringBuilder();
            int n = r.nextInt(60);
            for (int i = 0; i < n; i++) {
                b.append(vocabulary[r.nextInt(distinct)]).append(r.nextInt(8) == 0 ? "\n" : " ");
            }
            String text = b.toString();
            String[] words = text.strip().isEmpty() ? new String[0] : text.strip().split("\\s+");
            long chars = text.codePointCount(0, text.length());
            Map<String, Double> actual = signals(text);
            for (int k = 2; k <= 4; k++) {
                assertEquals(chars == 0 ? 0 : topNgramChars(words, k) / (double) chars,
                        actual.get("top_" + k + "gram_char_fraction"), 1e-12, k + "-grams of " + text);
            }
            for (int k = 5; k <= 10; k++) {
                assertEquals(chars == 0 ? 0 : duplicateNgramChars(words, k) / (double) chars,
                        actual.get("dup_" + k + "gram_char_fraction"), 1e-12, k + "-grams of " + text);
            }
        }
    }

    private static long codePoints(String[] words, int from, int n) {
        long c = 0;
        for (int i = from; i < from + n; i++) c += words[i].codePointCount(0, words[i].length());
        return c;
    }

    private static long topNgramChars(String[] words, int n) {
        Map<String, Integer> counts = new java.util.HashMap<>();
        for (int i = 0; i + n <= words.length; i++) counts.merge(String.join(" ", java.util.Arrays.copyOfRange(words, i, i + n)), 1, Integer::sum);
        int best = 0;
        long covered = 0;
        for (int i = 0; i + n <= words.length; i++) {
            int c = counts.get(String.join(" ", java.util.Arrays.copyOfRange(words, i, i + n)));
            long chars = c * codePoints(words, i, n);
            if (c > best || c == best && chars > covered) {
                best = c;
                covered = chars;
            }
        }
        return best >= 2 ? covered : 0;
    }

    private static long duplicateNgramChars(String[] words, int n) {
        java.util.Set<String> seen = new java.util.HashSet<>();
        long repeated = 0;
        for (int i = 0; i + n <= words.length; ) {
            if (!seen.add(String.join(" ", java.util.Arrays.copyOfRange(words, i, i + n)))) {
                repeated += codePoints(words, i, n);
                i += n;
            } else {
                i++;
            }
        }
        return repeated;
    }

    @Test
    void englishDocumentWithRepeatsBulletsAndCode() {
        // Lines of 23, 23, 16 and 24 code points; 4 line breaks (one blank line); 90 in all; 20 words of 70 characters.
        String text = "The cat sat on the mat.\nThe cat sat on the mat.\n- a list item...\n\n#tag {x} and javascript!";
        Map<String, Double> e = new LinkedHashMap<>();
        e.put("chars", 90.0);
        e.put("words", 20.0);
        e.put("lines", 4.0);
        e.put("symbol_ratio", 10 / 70.0);          // . . - ... # { } ! of 70 visible
        e.put("mean_word_length", 70 / 20.0);
        e.put("hash_word_ratio", 1 / 20.0);
        e.put("ellipsis_word_ratio", 1 / 20.0);
        e.put("bullet_line_fraction", 1 / 4.0);   // "- a list item..."
        e.put("ellipsis_line_fraction", 1 / 4.0);
        e.put("alpha_word_fraction", 19 / 20.0);  // "-" has no letter
        e.put("stop_words", 5.0);                 // The the The the and
        e.put("dup_line_fraction", 1 / 4.0);
        e.put("dup_line_char_fraction", 23 / 90.0);
        e.put("dup_paragraph_fraction", 0.0);
        e.put("dup_paragraph_char_fraction", 0.0);
        e.put("top_2gram_char_fraction", 14 / 90.0); // "the mat." twice: 2 x 7
        e.put("top_3gram_char_fraction", 18 / 90.0); // "The cat sat" or "on the mat." twice: 2 x 9
        e.put("top_4gram_char_fraction", 24 / 90.0); // "sat on the mat." twice: 2 x 12
        e.put("dup_5gram_char_fraction", 14 / 90.0); // the second "The cat sat on the"
        e.put("dup_6gram_char_fraction", 18 / 90.0); // the second "The cat sat on the mat."
        e.put("dup_7gram_char_fraction", 0.0);
        e.put("dup_8gram_char_fraction", 0.0);
        e.put("dup_9gram_char_fraction", 0.0);
        e.put("dup_10gram_char_fraction", 0.0);
        e.put("terminal_punct_line_fraction", 1.0);
        e.put("short_line_fraction", 0.0);
        e.put("javascript_line_fraction", 1 / 4.0);
        e.put("policy_line_fraction", 0.0);
        e.put("lorem_ipsum", 0.0);
        e.put("curly_bracket", 1.0);
        e.put("max_line_length", 24.0);
        e.put("mean_line_length", 86 / 4.0);
        e.put("alphanumeric_fraction", 60 / 90.0);
        check(e, text);
    }

    @Test
    void russianDocument() {
        // 57 + 1 + 7 code points; 12 words of 54 characters; symbols , … , .
        String text = "Съешь же ещё этих мягких французских булок, да выпей чаю…\nДа, да.";
        Map<String, Double> e = new LinkedHashMap<>();
        e.put("chars", 65.0);
        e.put("words", 12.0);
        e.put("lines", 2.0);
        e.put("symbol_ratio", 4 / 54.0);
        e.put("mean_word_length", 54 / 12.0);
        e.put("hash_word_ratio", 0.0);
        e.put("ellipsis_word_ratio", 1 / 12.0);
        e.put("bullet_line_fraction", 0.0);
        e.put("ellipsis_line_fraction", 1 / 2.0);
        e.put("alpha_word_fraction", 1.0);
        e.put("stop_words", 0.0);
        e.put("dup_line_fraction", 0.0);
        e.put("dup_line_char_fraction", 0.0);
        e.put("dup_paragraph_fraction", 0.0);
        e.put("dup_paragraph_char_fraction", 0.0);
        for (int n = 2; n <= 4; n++) e.put("top_" + n + "gram_char_fraction", 0.0); // "Да," and "да." differ
        for (int n = 5; n <= 10; n++) e.put("dup_" + n + "gram_char_fraction", 0.0);
        e.put("terminal_punct_line_fraction", 1 / 2.0); // '…' is not C4's terminal punctuation
        e.put("short_line_fraction", 1 / 2.0);          // "Да, да." has 2 words
        e.put("javascript_line_fraction", 0.0);
        e.put("policy_line_fraction", 0.0);
        e.put("lorem_ipsum", 0.0);
        e.put("curly_bracket", 0.0);
        e.put("max_line_length", 57.0);
        e.put("mean_line_length", 32.0);
        e.put("alphanumeric_fraction", 50 / 65.0);
        check(e, text);
    }

    @Test
    void emptyDocumentHasOnlyZeros() {
        Map<String, Double> e = new LinkedHashMap<>();
        for (HeuristicSignals.Signal s : HeuristicSignals.SIGNALS) e.put(s.name(), 0.0);
        check(e, "");
    }

    @Test
    void boilerplatePhrasesRepeatedParagraphsAndSkippingNgrams() {
        // Paragraphs "a b" / "c" / "a b": the third repeats the first (3 code points of 11).
        Map<String, Double> p = signals("a b\n\nc\n\na b");
        assertEquals(1 / 3.0, p.get("dup_paragraph_fraction"), 1e-12);
        assertEquals(3 / 11.0, p.get("dup_paragraph_char_fraction"), 1e-12);
        assertEquals(1 / 3.0, p.get("dup_line_fraction"), 1e-12);
        // Ten words "w" then "v" (21 code points): the 5-gram at 1 repeats the one at 0 → 5 characters counted, the
        // scan jumps to 6 ("w w w w v", new) and ends: Gopher's scan counts a run of repeats once per n words.
        Map<String, Double> w = signals("w w w w w w w w w w v");
        assertEquals(5 / 21.0, w.get("dup_5gram_char_fraction"), 1e-12);
        assertEquals(9 * 2 / 21.0, w.get("top_2gram_char_fraction"), 1e-12, "'w w' 9 times");
        Map<String, Double> c4 = signals("Lorem Ipsum dolor sit amet\nRead our PRIVACY policy now\nok\nJavaScript");
        assertEquals(1.0, c4.get("lorem_ipsum"));
        assertEquals(1 / 4.0, c4.get("policy_line_fraction"), 1e-12);
        assertEquals(1 / 4.0, c4.get("javascript_line_fraction"), 1e-12);
        assertEquals(2 / 4.0, c4.get("short_line_fraction"), 1e-12);
        assertEquals(0.0, c4.get("terminal_punct_line_fraction"));
        assertEquals(0.0, c4.get("curly_bracket"));
    }

    /** The two filters prepare always had are two of the signals, with the same values. */
    @Test
    void charsAndSymbolRatioAreTheQualityFiltersMeasures() {
        Random random = new Random(7);
        String alphabet = "ab cé!\n#{}…😀 1.";
        for (int t = 0; t < 200; t++) {
            StringBuilder b = new StringBuilder();
            int n = random.nextInt(40);
            for (int i = 0; i < n; i++) b.appendCodePoint(alphabet.codePointAt(alphabet.offsetByCodePoints(0, random.nextInt(alphabet.codePointCount(0, alphabet.length())))));
            String text = TextCleaner.clean(b.toString());
            double[] v = HeuristicSignals.compute(text);
            assertEquals(text.codePointCount(0, text.length()), v[HeuristicSignals.index("chars")], text);
            assertEquals(QualityFilter.symbolRatio(text), v[HeuristicSignals.index("symbol_ratio")], 1e-15, text);
        }
    }
}
