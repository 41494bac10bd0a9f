package dev.jllama.data.prepare;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.jllama.data.shard.SplitMix64;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** {@link Words#hashes} normalises and hashes in one pass; it must equal hashing {@link LineHash#normalize}'s words. */
class WordsTest {

    /** The definition: FNV-1a over the UTF-16 units of each word of the normalised text, mixed. */
    private static long[] reference(String text) {
        String n = LineHash.normalize(text);
        if (n.isEmpty()) return new long[0];
        String[] words = n.split(" ", -1);
        long[] out = new long[words.length];
        for (int w = 0; w < words.length; w++) {
            long h = 0xcbf29ce484222325L;
            for (int i = 0; i < words[w].length(); i++) h = (h ^ words[w].charAt(i)) * 0x100000001b3L;
            out[w] = SplitMix64.mix(h);
        }
        return out;
    }

    @Test
    void equalsHashingTheNormalisedWords() {
        for (String t : List.of("", " ", "...", " . , ", "Hello, World!", "  leading and trailing  ", "a.b a . b",
                "Tab\tand\nnew\r\nlines", "digits 2024 and ٣ (Arabic-Indic)", "NBSP\u00a0here\u2003em space",
                "Ünïcödé ÇAFÉ straße İstanbul", "emoji 😀 and 𝐁old 𝟗", "unpaired \uD800 high and \uDFFF low",
                "«quotes» — dashes – and “curly” ‘ones’", "中文，标点。混合 text", "ends with punctuation!!!",
                "x", "x y", "word".repeat(100))) {
            assertArrayEquals(reference(t), Words.hashes(t), t);
        }
    }

    @Test
    void equalsHashingTheNormalisedWordsOnRandomText() {
        Random r = new Random(7);
        String alphabet = "aB9 \t\n.,;!?-_()'\"éÉß\u00a0\u2003٣😀中\uD800İ";
        int[] cps = alphabet.codePoints().toArray();
        for (int n = 0; n < 2000; n++) {
            StringBuilder b = new StringBuilder();
            int len = r.nextInt(40);
            for (int i = 0; i < len; i++) b.appendCodePoint(cps[r.nextInt(cps.length)]);
            assertArrayEquals(reference(b.toString()), Words.hashes(b.toString()), b.toString());
        }
    }
}
