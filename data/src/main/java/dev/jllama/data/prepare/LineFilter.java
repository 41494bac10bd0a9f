package dev.jllama.data.prepare;

import java.util.Arrays;

/** Removes the lines whose {@link LineHash} is in a sorted set of frequent-line hashes. */
final class LineFilter {
    private LineFilter() {}

    /** Result: the text without the frequent lines, and how many lines there were and went. */
    record Result(String text, int lines, int removed) {}

    /**
     * Lines are hashed where they lie in the text (with an empty set nothing is hashed, the lines are only counted);
     * only a text that loses a line is rebuilt, in a second pass.
     */
    static Result apply(String text, long[] frequentSorted) {
        int counted = 0;
        boolean anyFrequent = false;
        for (int start = 0, n = text.length(); start <= n; ) {
            int end = text.indexOf('\n', start);
            if (end < 0) end = n;
            if (end > start) {
                counted++;
                anyFrequent = anyFrequent || frequent(text, start, end, frequentSorted);
            }
            start = end + 1;
        }
        return anyFrequent ? rebuilt(text, frequentSorted) : new Result(text, counted, 0);
    }

    private static boolean frequent(String text, int from, int to, long[] frequentSorted) {
        if (frequentSorted.length == 0) return false;
        long h = LineHash.hash(text, from, to);
        return h != 0 && Arrays.binarySearch(frequentSorted, h) >= 0;
    }

    /** The text without its frequent lines, blank lines between kept ones collapsed to one. */
    private static Result rebuilt(String text, long[] frequentSorted) {
        StringBuilder b = new StringBuilder(text.length());
        int counted = 0;
        int removed = 0;
        boolean blankPending = false;
        for (int start = 0, n = text.length(); start <= n; ) {
            int end = text.indexOf('\n', start);
            if (end < 0) end = n;
            int from = start;
            start = end + 1;
            if (from == end) {
                blankPending = !b.isEmpty();
                continue;
            }
            counted++;
            if (frequent(text, from, end, frequentSorted)) {
                removed++;
                continue;
            }
            if (!b.isEmpty()) b.append(blankPending ? "\n\n" : "\n");
            blankPending = false;
            b.append(text, from, end);
        }
        return new Result(b.toString(), counted, removed);
    }
}
