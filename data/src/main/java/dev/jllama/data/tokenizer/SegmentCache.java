package dev.jllama.data.tokenizer;

import java.util.Arrays;

/**
 * Ids of recently encoded whitespace-delimited pieces, keyed by their code points. Open addressing over int
 * arrays so that a hit allocates nothing; when it fills up it starts over (text vocabularies are Zipfian, so the
 * frequent pieces come back at once).
 */
final class SegmentCache {
    private static final int CAPACITY = 1 << 18;
    private final int[][] keys = new int[CAPACITY][];
    private final int[][] values = new int[CAPACITY][];
    private final int[] hashes = new int[CAPACITY];
    private int size;

    private static int hash(int[] cps, int off, int len) {
        int h = len;
        for (int i = off, end = off + len; i < end; i++) h = h * 31 + cps[i];
        return h ^ (h >>> 16);
    }

    int[] get(int[] cps, int off, int len, int hash) {
        for (int i = hash & (CAPACITY - 1); ; i = (i + 1) & (CAPACITY - 1)) {
            int[] k = keys[i];
            if (k == null) return null;
            if (hashes[i] == hash && Arrays.equals(k, 0, k.length, cps, off, off + len)) return values[i];
        }
    }

    int hashOf(int[] cps, int off, int len) {
        return hash(cps, off, len);
    }

    void put(int[] cps, int off, int len, int hash, int[] ids) {
        if (size * 2 >= CAPACITY) {
            Arrays.fill(keys, null);
            Arrays.fill(values, null);
            size = 0;
        }
        for (int i = hash & (CAPACITY - 1); ; i = (i + 1) & (CAPACITY - 1)) {
            if (keys[i] == null) {
                keys[i] = Arrays.copyOfRange(cps, off, off + len);
                values[i] = ids;
                hashes[i] = hash;
                size++;
                return;
            }
        }
    }
}
