package dev.jllama.data.prepare;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Signatures from the vector loop equal the definition, shingle by shingle, for any number of hash functions. */
class MinHashTest {

    /** The definition: per hash function i, the least (a_i·x + b_i) >>> 32 over the shingle hashes x. */
    private static int[] reference(long[] a, long[] b, long[] x) {
        long[] min = new long[a.length];
        java.util.Arrays.fill(min, Long.MAX_VALUE);
        for (long v : x) {
            for (int i = 0; i < a.length; i++) min[i] = Math.min(min[i], (a[i] * v + b[i]) >>> 32);
        }
        int[] sig = new int[a.length];
        for (int i = 0; i < sig.length; i++) sig[i] = (int) min[i];
        return sig;
    }

    @Test
    void vectorLoopEqualsTheDefinition() {
        Random r = new Random(3);
        for (int functions : List.of(1, 3, 15, 112, 113)) {
            long[] a = r.longs(functions).map(v -> v | 1).toArray();
            long[] b = r.longs(functions).toArray();
            for (int shingles : List.of(1, 2, 7, 500)) {
                long[] x = r.longs(shingles).toArray();
                int[] sig = new int[functions];
                int done = MinHashLanes.minima(a, b, x, sig);
                for (int i = done; i < functions; i++) sig[i] = (int) MinHash.minimum(a[i], b[i], x);
                assertArrayEquals(reference(a, b, x), sig, functions + " functions, " + shingles + " shingles");
            }
        }
    }

    @Test
    void aTextShorterThanAShingleIsOneShingleOfAllItsWords() {
        MinHash m = new MinHash(NearDedupOptions.DEFAULT);
        assertArrayEquals(m.signature("two words"), m.signature("Two, words!"));
        assertEquals(1.0, MinHash.similarity(m.signature(""), m.signature("...")), "no words: one empty shingle");
    }
}
