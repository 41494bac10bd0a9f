package dev.jllama.data.tokenizer;

import java.util.Arrays;

/** Open-addressing map from long keys to non-negative int values; the merge table of the BPE encoder. */
final class LongIntMap {
    private long[] keys;
    private int[] values;
    private int size;
    private int mask;

    LongIntMap(int expected) {
        int cap = Integer.highestOneBit(Math.max(16, expected * 2) - 1) << 1;
        keys = new long[cap];
        values = new int[cap];
        Arrays.fill(values, -1);
        mask = cap - 1;
    }

    private static int slot(long key, int mask) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 29)) & mask;
    }

    /** Returns the value, or -1 when absent. */
    int get(long key) {
        for (int i = slot(key, mask); ; i = (i + 1) & mask) {
            int v = values[i];
            if (v < 0) return -1;
            if (keys[i] == key) return v;
        }
    }

    /** Inserts or keeps the existing value (first writer wins). */
    void putIfAbsent(long key, int value) {
        if ((size + 1) * 2 > keys.length) grow();
        for (int i = slot(key, mask); ; i = (i + 1) & mask) {
            if (values[i] < 0) {
                keys[i] = key;
                values[i] = value;
                size++;
                return;
            }
            if (keys[i] == key) return;
        }
    }

    private void grow() {
        long[] oldKeys = keys;
        int[] oldValues = values;
        keys = new long[oldKeys.length * 2];
        values = new int[oldKeys.length * 2];
        Arrays.fill(values, -1);
        mask = keys.length - 1;
        size = 0;
        for (int i = 0; i < oldKeys.length; i++) if (oldValues[i] >= 0) putIfAbsent(oldKeys[i], oldValues[i]);
    }
}
