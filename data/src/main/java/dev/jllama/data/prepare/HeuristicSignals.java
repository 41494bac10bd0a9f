package dev.jllama.data.prepare;

import dev.jllama.data.shard.SplitMix64;
import java.util.Arrays;
import java.util.List;

/**
 * The usual document heuristics as named signals — the Gopher quality and repetition rules (Rae et al. 2021, as
 * DataTrove implements them), the C4 rules (Raffel et al. 2020) and the code rules used for GitHub data
 * (RedPajama) — computed in one pass over a document's text (lines and words are found once; the n-gram
 * statistics then run over the word hashes, not the text). The text is the cleaned document after frequent-line
 * removal, the text the filters judge. A line is a non-empty line; a paragraph a run of lines between blank lines;
 * a word a maximal run of non-whitespace characters (so a language written without spaces has few, long words:
 * the Gopher word rules are meant for space-separated languages). Lengths are in code points.
 * <p>
 * {@link #SIGNALS} lists every column with its definition; {@link #compute} returns the values in that order.
 */
public final class HeuristicSignals {
    private HeuristicSignals() {}

    /** How a signal is stored in the annotations table. */
    public enum Type { LONG, DOUBLE, BOOLEAN }

    /** One column: its name, type and definition (the README lists the same). */
    public record Signal(String name, Type type, String definition) implements java.io.Serializable {}

    /** Gopher's stop words; its rule asks for at least two of them. */
    private static final String[] STOP_WORD_LIST = {"the", "be", "to", "of", "and", "that", "have", "with"};

    /** Character kinds: whitespace, letter, decimal digit, combining mark, anything else (a symbol). */
    private static final byte SPACE = 0, LETTER = 1, DIGIT = 2, MARK = 3, SYMBOL = 4;
    private static final byte[] ASCII = new byte[128];

    static {
        for (int c = 0; c < 128; c++) ASCII[c] = kind(c);
    }

    private static byte kind(int cp) {
        if (Character.isWhitespace(cp) || Character.isSpaceChar(cp)) return SPACE;
        if (Character.isLetter(cp)) return LETTER;
        if (Character.isDigit(cp)) return DIGIT;
        int type = Character.getType(cp);
        return type == Character.NON_SPACING_MARK || type == Character.COMBINING_SPACING_MARK ? MARK : SYMBOL;
    }
    /** C4's terminal punctuation. */
    private static final String TERMINAL = ".!?\"";
    /** Characters Gopher's bullet rule (DataTrove) and common markup start list items with. */
    private static final String BULLETS = "•‣◦●○▪·-*";
    /** C4 removes lines containing these (its "policy" substrings) and "javascript". */
    private static final String[] POLICY = {"terms of use", "privacy policy", "cookie policy", "uses cookies",
            "use of cookies", "use cookies"};
    /** C4 removes lines with fewer words than this. */
    static final int SHORT_LINE_WORDS = 3;

    public static final List<Signal> SIGNALS = List.of(
            new Signal("chars", Type.LONG, "code points in the text (--min-chars keeps chars >= N)"),
            new Signal("words", Type.LONG, "words: maximal runs of non-whitespace characters"),
            new Signal("lines", Type.LONG, "non-empty lines"),
            new Signal("symbol_ratio", Type.DOUBLE, "share of non-whitespace code points that are neither letters, digits"
                    + " nor combining marks (--max-symbol-ratio keeps symbol_ratio <= X)"),
            new Signal("mean_word_length", Type.DOUBLE, "mean code points per word (Gopher: 3 to 10)"),
            new Signal("hash_word_ratio", Type.DOUBLE, "'#' characters per word (Gopher: <= 0.1)"),
            new Signal("ellipsis_word_ratio", Type.DOUBLE, "'...' and '…' per word (Gopher: <= 0.1)"),
            new Signal("bullet_line_fraction", Type.DOUBLE, "share of lines starting with a bullet (• ‣ ◦ ● ○ ▪ · - *)"
                    + " (Gopher: <= 0.9)"),
            new Signal("ellipsis_line_fraction", Type.DOUBLE, "share of lines ending with '...' or '…' (Gopher: <= 0.3)"),
            new Signal("alpha_word_fraction", Type.DOUBLE, "share of words with at least one letter (Gopher: >= 0.8)"),
            new Signal("stop_words", Type.LONG, "words that, lower-cased and stripped of punctuation, are one of the, be,"
                    + " to, of, and, that, have, with (Gopher: >= 2)"),
            new Signal("dup_line_fraction", Type.DOUBLE, "share of lines equal to an earlier line (Gopher: <= 0.3)"),
            new Signal("dup_line_char_fraction", Type.DOUBLE, "code points in those lines / chars (Gopher: <= 0.2)"),
            new Signal("dup_paragraph_fraction", Type.DOUBLE, "share of paragraphs equal to an earlier paragraph"
                    + " (Gopher: <= 0.3)"),
            new Signal("dup_paragraph_char_fraction", Type.DOUBLE, "code points in those paragraphs / chars (Gopher: <= 0.2)"),
            new Signal("top_2gram_char_fraction", Type.DOUBLE, "code points of the words of the most frequent word"
                    + " 2-gram times its count / chars, 0 if no 2-gram occurs twice (Gopher: <= 0.2)"),
            new Signal("top_3gram_char_fraction", Type.DOUBLE, "the same for 3-grams (Gopher: <= 0.18)"),
            new Signal("top_4gram_char_fraction", Type.DOUBLE, "the same for 4-grams (Gopher: <= 0.16)"),
            new Signal("dup_5gram_char_fraction", Type.DOUBLE, "code points of the words in repeated word 5-grams / chars,"
                    + " scanning left to right and skipping past a repeat (Gopher: <= 0.15)"),
            new Signal("dup_6gram_char_fraction", Type.DOUBLE, "the same for 6-grams (Gopher: <= 0.14)"),
            new Signal("dup_7gram_char_fraction", Type.DOUBLE, "the same for 7-grams (Gopher: <= 0.13)"),
            new Signal("dup_8gram_char_fraction", Type.DOUBLE, "the same for 8-grams (Gopher: <= 0.12)"),
            new Signal("dup_9gram_char_fraction", Type.DOUBLE, "the same for 9-grams (Gopher: <= 0.11)"),
            new Signal("dup_10gram_char_fraction", Type.DOUBLE, "the same for 10-grams (Gopher: <= 0.10)"),
            new Signal("terminal_punct_line_fraction", Type.DOUBLE, "share of lines ending in . ! ? or \" (C4 keeps only"
                    + " those lines)"),
            new Signal("short_line_fraction", Type.DOUBLE, "share of lines with fewer than 3 words (C4 removes them)"),
            new Signal("javascript_line_fraction", Type.DOUBLE, "share of lines containing 'javascript', any case (C4"
                    + " removes them)"),
            new Signal("policy_line_fraction", Type.DOUBLE, "share of lines containing one of C4's policy phrases, any"
                    + " case: terms of use, privacy policy, cookie policy, uses cookies, use of cookies, use cookies"),
            new Signal("lorem_ipsum", Type.BOOLEAN, "the text contains 'lorem ipsum', any case (C4 drops the page)"),
            new Signal("curly_bracket", Type.BOOLEAN, "the text contains '{' (C4 drops the page)"),
            new Signal("max_line_length", Type.LONG, "code points of the longest line (RedPajama GitHub: <= 1000)"),
            new Signal("mean_line_length", Type.DOUBLE, "mean code points per line (RedPajama GitHub: <= 100)"),
            new Signal("alphanumeric_fraction", Type.DOUBLE, "letters and digits / chars (RedPajama GitHub: >= 0.25)"));

    /** Position of a signal in {@link #SIGNALS} and in {@link #compute}'s result. */
    public static int index(String name) {
        for (int i = 0; i < SIGNALS.size(); i++) if (SIGNALS.get(i).name().equals(name)) return i;
        throw new IllegalArgumentException("no signal " + name);
    }

    /** Every signal of {@code text}, in the order of {@link #SIGNALS}; booleans as 0 or 1. */
    public static double[] compute(String text) {
        Pass p = new Pass(text);
        double[] v = new double[SIGNALS.size()];
        int i = 0;
        v[i++] = p.chars;
        v[i++] = p.words;
        v[i++] = p.lines;
        v[i++] = share(p.symbols, p.visible);
        v[i++] = share(p.wordChars, p.words);
        v[i++] = share(p.hashes, p.words);
        v[i++] = share(p.ellipses, p.words);
        v[i++] = share(p.bulletLines, p.lines);
        v[i++] = share(p.ellipsisLines, p.lines);
        v[i++] = share(p.alphaWords, p.words);
        v[i++] = p.stopWords;
        v[i++] = share(p.dupLines, p.lines);
        v[i++] = share(p.dupLineChars, p.chars);
        v[i++] = share(p.dupParagraphs, p.paragraphs);
        v[i++] = share(p.dupParagraphChars, p.chars);
        // An n-gram that repeats holds an (n-1)-gram that repeats: once none does, no longer one can, so the
        // passes over the words stop there (most documents have no repeated 5-gram).
        long previous = 1;
        for (int n = 2; n <= 4; n++) {
            previous = previous == 0 ? 0 : p.topNgramChars(n);
            v[i++] = share(previous, p.chars);
        }
        previous = 1;
        for (int n = 5; n <= 10; n++) {
            previous = previous == 0 ? 0 : p.duplicateNgramChars(n);
            v[i++] = share(previous, p.chars);
        }
        v[i++] = share(p.terminalLines, p.lines);
        v[i++] = share(p.shortLines, p.lines);
        v[i++] = share(p.javascriptLines, p.lines);
        v[i++] = share(p.policyLines, p.lines);
        v[i++] = p.loremIpsum ? 1 : 0;
        v[i++] = p.curlyBracket ? 1 : 0;
        v[i++] = p.maxLineLength;
        v[i++] = share(p.lineChars, p.lines);
        v[i++] = share(p.alphanumeric, p.chars);
        return v;
    }

    private static double share(long part, long whole) {
        return whole == 0 ? 0 : (double) part / whole;
    }

    /** The single scan over the text: per-line, per-word and per-character counts, and the word hashes. */
    private static final class Pass {
        long chars, visible, symbols, alphanumeric;
        long words, wordChars, alphaWords, stopWords, hashes, ellipses;
        long lines, lineChars, maxLineLength, bulletLines, ellipsisLines, terminalLines, shortLines;
        long javascriptLines, policyLines, dupLines, dupLineChars;
        long paragraphs, dupParagraphs, dupParagraphChars;
        boolean loremIpsum, curlyBracket;
        long[] wordHash = new long[64];
        int[] wordLength = new int[64];

        /** One table reused by every hash-counting step of this document, cleared in between. */
        private final LongCounts counts = new LongCounts();
        private int lastLineLength;

        Pass(String text) {
            LongCounts seenLines = new LongCounts();
            LongCounts seenParagraphs = new LongCounts();
            long paragraphHash = 0;
            long paragraphChars = 0;
            int n = text.length();
            chars = text.codePointCount(0, n);
            int start = 0;
            while (start <= n) {
                int end = text.indexOf('\n', start);
                if (end < 0) end = n;
                if (end > start) {
                    long lineHash = line(text, start, end);
                    long length = lastLineLength;
                    if (seenLines.add(lineHash) > 1) {
                        dupLines++;
                        dupLineChars += length;
                    }
                    paragraphHash = SplitMix64.mix(paragraphHash * 0x9E3779B97F4A7C15L + lineHash);
                    paragraphChars += length;
                }
                boolean paragraphEnds = end == n || end == start; // blank line or end of text
                if (paragraphEnds && paragraphChars > 0) {
                    paragraphs++;
                    if (seenParagraphs.add(paragraphHash) > 1) {
                        dupParagraphs++;
                        dupParagraphChars += paragraphChars;
                    }
                    paragraphHash = 0;
                    paragraphChars = 0;
                }
                start = end + 1;
            }
        }

        /** Scans one non-empty line; returns its hash. */
        private long line(String text, int start, int end) {
            lines++;
            long length = 0;
            long lineWords = 0;
            long h = 0xcbf29ce484222325L;
            int wordStart = -1;
            int wordCodePoints = 0;
            boolean wordHasLetter = false;
            long wordH = 0xcbf29ce484222325L;
            int dots = 0;
            for (int i = start; i < end; ) {
                int cp = text.charAt(i);
                int next = i + 1;
                if (Character.isHighSurrogate((char) cp)) {
                    cp = text.codePointAt(i);
                    next = i + Character.charCount(cp);
                }
                h = (h ^ cp) * 0x100000001b3L;
                length++;
                int kind = cp < 128 ? ASCII[cp] : kind(cp);
                boolean space = kind == SPACE;
                if (cp == '.') {
                    dots++;
                } else {
                    ellipses += dots / 3;
                    dots = 0;
                }
                if (space) {
                    if (wordStart >= 0) {
                        endWord(text, wordStart, i, wordCodePoints, wordHasLetter, wordH);
                        lineWords++;
                        wordStart = -1;
                    }
                } else {
                    visible++;
                    boolean letter = kind == LETTER;
                    if (letter || kind == DIGIT) alphanumeric++;
                    else if (kind == SYMBOL) symbols++;
                    if (cp == '#') hashes++;
                    else if (cp == '…') ellipses++;
                    else if (cp == '{') curlyBracket = true;
                    if (wordStart < 0) {
                        wordStart = i;
                        wordCodePoints = 0;
                        wordHasLetter = false;
                        wordH = 0xcbf29ce484222325L;
                    }
                    wordCodePoints++;
                    wordHasLetter |= letter;
                    wordH = (wordH ^ cp) * 0x100000001b3L;
                    if (letter && next < end) phrases(text, i, end, cp);
                }
                i = next;
            }
            ellipses += dots / 3;
            if (wordStart >= 0) {
                endWord(text, wordStart, end, wordCodePoints, wordHasLetter, wordH);
                lineWords++;
            }
            lineChars += length;
            lastLineLength = (int) length;
            maxLineLength = Math.max(maxLineLength, length);
            int first = text.codePointAt(start);
            char last = text.charAt(end - 1);
            if (BULLETS.indexOf(first) >= 0) bulletLines++;
            if (last == '…' || end - start >= 3 && text.startsWith("...", end - 3)) ellipsisLines++;
            if (TERMINAL.indexOf(last) >= 0) terminalLines++;
            if (lineWords < SHORT_LINE_WORDS) shortLines++;
            if (lineJavascript) javascriptLines++;
            if (linePolicy) policyLines++;
            lineJavascript = false;
            linePolicy = false;
            return SplitMix64.mix(h);
        }

        private boolean lineJavascript;
        private boolean linePolicy;

        /** C4's phrases starting at {@code i}; the first two characters decide which could. */
        private void phrases(String text, int i, int end, int cp) {
            int second = text.charAt(i + 1) | 0x20; // ASCII lower case
            int first = cp | 0x20;
            if (cp >= 128 || !(first == 'j' && second == 'a' || first == 'l' && second == 'o' || first == 't' && second == 'e'
                    || first == 'p' && second == 'r' || first == 'c' && second == 'o' || first == 'u' && second == 's')) {
                return;
            }
            switch (first) {
                case 'j' -> lineJavascript |= text.regionMatches(true, i, "javascript", 0, 10) && i + 10 <= end;
                case 'l' -> loremIpsum |= text.regionMatches(true, i, "lorem ipsum", 0, 11);
                case 't', 'p', 'c', 'u' -> {
                    for (String phrase : POLICY) {
                        if (i + phrase.length() <= end && text.regionMatches(true, i, phrase, 0, phrase.length())) {
                            linePolicy = true;
                            break;
                        }
                    }
                }
                default -> { }
            }
        }

        private void endWord(String text, int from, int to, int codePoints, boolean hasLetter, long hash) {
            if (words == wordHash.length) {
                wordHash = Arrays.copyOf(wordHash, wordHash.length * 2);
                wordLength = Arrays.copyOf(wordLength, wordLength.length * 2);
            }
            wordHash[(int) words] = SplitMix64.mix(hash);
            wordLength[(int) words] = codePoints;
            words++;
            wordChars += codePoints;
            if (hasLetter) alphaWords++;
            if (codePoints <= 12 && isStopWord(text, from, to)) stopWords++;
        }

        private static boolean isStopWord(String text, int from, int to) {
            while (from < to && !Character.isLetterOrDigit(text.charAt(from))) from++;
            while (to > from && !Character.isLetterOrDigit(text.charAt(to - 1))) to--;
            int length = to - from;
            if (length < 2 || length > 4) return false;
            for (String w : STOP_WORD_LIST) {
                if (w.length() == length && text.regionMatches(true, from, w, 0, length)) return true;
            }
            return false;
        }

        /** Polynomial hash of words [i, i + n) from prefix hashes: O(1) per n-gram. */
        private long[] prefix;
        private long[] prefixChars;

        private void prefixes() {
            if (prefix != null) return;
            int w = (int) words;
            prefix = new long[w + 1];
            prefixChars = new long[w + 1];
            for (int i = 0; i < w; i++) {
                prefix[i + 1] = prefix[i] * BASE + wordHash[i];
                prefixChars[i + 1] = prefixChars[i] + wordLength[i];
            }
        }

        private static final long BASE = 0x9E3779B97F4A7C15L;

        private long ngram(int i, int n, long basePowN) {
            return prefix[i + n] - prefix[i] * basePowN; // word hashes are mixed already; the table mixes again
        }

        private static long power(int n) {
            long p = 1;
            for (int i = 0; i < n; i++) p *= BASE;
            return p;
        }

        /** Characters of the most frequent n-gram times its count (of those occurring at least twice). */
        long topNgramChars(int n) {
            if (words < n + 1) return 0; // no n-gram can occur twice
            prefixes();
            long pow = power(n);
            counts.clear((int) words);
            long best = 0;
            long bestCount = 1;
            for (int i = 0; i + n <= words; i++) {
                int c = counts.add(ngram(i, n, pow));
                if (c < bestCount) continue;
                long covered = c * (prefixChars[i + n] - prefixChars[i]);
                if (c > bestCount || covered > best) {
                    bestCount = c;
                    best = covered;
                }
            }
            return bestCount >= 2 ? best : 0;
        }

        /** Gopher's duplicate n-gram characters: a repeated n-gram's words count once, and the scan skips past it. */
        long duplicateNgramChars(int n) {
            if (words < n + 1) return 0;
            prefixes();
            long pow = power(n);
            LongCounts seen = counts;
            seen.clear((int) words);
            long repeated = 0;
            int i = 0;
            while (i + n <= words) {
                if (seen.add(ngram(i, n, pow)) > 1) {
                    repeated += prefixChars[i + n] - prefixChars[i];
                    i += n;
                } else {
                    i++;
                }
            }
            return repeated;
        }
    }

    /** Occurrence counts of 64-bit hashes: open addressing, no boxing. */
    static final class LongCounts {
        private long[] keys = new long[16];
        private int[] counts = new int[16];
        private int size;

        /** Empties the table, sized for about {@code expected} keys without growing. */
        void clear(int expected) {
            int capacity = Integer.highestOneBit(Math.max(16, expected * 2 + 1) - 1) << 1;
            if (keys.length < capacity) {
                keys = new long[capacity];
                counts = new int[capacity];
            } else {
                Arrays.fill(keys, 0);
            }
            size = 0;
        }

        /** Counts one more occurrence of {@code key}; returns its count so far. */
        int add(long key) {
            if (key == 0) key = 1; // 0 marks an empty slot
            int mask = keys.length - 1;
            int slot = (int) SplitMix64.mix(key) & mask;
            while (keys[slot] != 0) {
                if (keys[slot] == key) return ++counts[slot];
                slot = (slot + 1) & mask;
            }
            keys[slot] = key;
            counts[slot] = 1;
            if (++size * 2 > keys.length) grow();
            return 1;
        }

        private void grow() {
            long[] oldKeys = keys;
            int[] oldCounts = counts;
            keys = new long[oldKeys.length * 2];
            counts = new int[oldKeys.length * 2];
            int mask = keys.length - 1;
            for (int s = 0; s < oldKeys.length; s++) {
                if (oldKeys[s] == 0) continue;
                int slot = (int) SplitMix64.mix(oldKeys[s]) & mask;
                while (keys[slot] != 0) slot = (slot + 1) & mask;
                keys[slot] = oldKeys[s];
                counts[slot] = oldCounts[s];
            }
        }
    }
}
