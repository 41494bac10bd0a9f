package dev.jllama.data.prepare;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Seeded prose-like text over a vocabulary of made-up words, so that independent documents share few shingles. */
final class SyntheticText {
    private static final String[] SYLLABLES = {"ka", "lo", "mi", "ne", "su", "ta", "ri", "po", "de", "fa", "go", "hu",
            "vi", "ze", "bro", "stel", "quin", "mar", "dor", "len"};
    private final String[] vocabulary;
    private final Random random;

    SyntheticText(long seed, int vocabularySize) {
        random = new Random(seed);
        vocabulary = new String[vocabularySize];
        for (int i = 0; i < vocabularySize; i++) {
            StringBuilder w = new StringBuilder();
            int n = 2 + (i % 3);
            int v = i;
            for (int s = 0; s < n; s++) {
                w.append(SYLLABLES[v % SYLLABLES.length]);
                v = v / SYLLABLES.length + s * 7 + i;
            }
            vocabulary[i] = w.toString() + (i / 1000 == 0 ? "" : String.valueOf((char) ('a' + i / 1000 % 26)));
        }
    }

    String word() {
        return vocabulary[random.nextInt(vocabulary.length)];
    }

    List<String> words(int n) {
        List<String> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) out.add(word());
        return out;
    }

    /** Words joined as sentences of 8–14 words with a capital and a full stop. */
    static String prose(List<String> words) {
        StringBuilder b = new StringBuilder();
        int sentence = 0;
        int length = 8 + Math.floorMod(words.hashCode(), 7);
        for (String w : words) {
            if (sentence == 0 && !b.isEmpty()) b.append(' ');
            else if (sentence > 0) b.append(' ');
            b.append(sentence == 0 ? Character.toUpperCase(w.charAt(0)) + w.substring(1) : w);
            if (++sentence == length) {
                b.append('.');
                sentence = 0;
            }
        }
        if (sentence > 0) b.append('.');
        return b.toString();
    }

    String document(int words) {
        return prose(words(words));
    }

    /** A copy of {@code words} with {@code changes} distinct positions replaced by other words. */
    List<String> changed(List<String> words, int changes) {
        List<String> copy = new ArrayList<>(words);
        java.util.Set<Integer> done = new java.util.HashSet<>();
        while (done.size() < changes) {
            int at = random.nextInt(copy.size());
            if (!done.add(at)) continue;
            String w;
            do {
                w = word();
            } while (w.equals(copy.get(at)));
            copy.set(at, w);
        }
        return copy;
    }

    int nextInt(int bound) {
        return random.nextInt(bound);
    }
}
