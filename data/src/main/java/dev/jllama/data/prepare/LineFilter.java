package dev.jllama.data.prepare;

import java.util.Arrays;

/** Removes the lines whose {@link LineHash} is in a sorted set of frequent-line hashes. */
final class LineFilter {
    private LineFilter() {}

    /** Result: the text without the frequent lines, and how many lines there were and went. */
    record Result(String text, int lines, int removed) {}

    static Result apply(String text, long[] frequentSorted) {
        String[] lines = text.split("\n", -1);
        StringBuilder b = new StringBuilder(text.length());
        int counted = 0;
        int removed = 0;
        boolean blankPending = false;
        for (String line : lines) {
            if (line.isEmpty()) {
                blankPending = !b.isEmpty();
                continue;
            }
            counted++;
            long h = LineHash.hash(line);
            if (h != 0 && Arrays.binarySearch(frequentSorted, h) >= 0) {
                removed++;
                continue;
            }
            if (!b.isEmpty()) b.append(blankPending ? "\n\n" : "\n");
            blankPending = false;
            b.append(line);
        }
        return new Result(removed == 0 ? text : b.toString(), counted, removed);
    }
}
