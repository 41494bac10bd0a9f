package dev.jllama.data.shard;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** SplitMix64 gives the reference generator's numbers; shuffles and draws built on it are fixed by the seed. */
class SplitMix64Test {

    @Test
    void matchesTheReferenceOutputs() {
        // Vigna's splitmix64.c from state 0.
        SplitMix64 zero = new SplitMix64(0);
        assertEquals(0xe220a8397b1dcdafL, zero.nextLong());
        assertEquals(0x6e789e6aa1b965f4L, zero.nextLong());
        assertEquals(0x06c45d188009454fL, zero.nextLong());
        SplitMix64 other = new SplitMix64(1234567);
        assertEquals(6457827717110365317L, other.nextLong());
        assertEquals(3203168211198807973L, other.nextLong());
    }

    @Test
    void doublesIntsAndPermutationsAreFixedBySeed() {
        // Expected values from an independent Python transcription of the same definitions.
        SplitMix64 d = new SplitMix64(42);
        assertEquals(0.7415648787718233, d.nextDouble(), 0.0);
        assertEquals(0.1599103928769201, d.nextDouble(), 0.0);
        SplitMix64 dice = new SplitMix64(7);
        int[] rolls = new int[8];
        for (int i = 0; i < rolls.length; i++) rolls[i] = dice.nextInt(6);
        assertArrayEquals(new int[] {2, 0, 5, 3, 2, 1, 2, 1}, rolls);
        SplitMix64 wide = new SplitMix64(7);
        assertArrayEquals(new int[] {837153009, 36052587, 1934368831},
                new int[] {wide.nextInt(Integer.MAX_VALUE), wide.nextInt(Integer.MAX_VALUE), wide.nextInt(Integer.MAX_VALUE)});
        assertArrayEquals(new int[] {7, 4, 3, 9, 5, 1, 8, 6, 0, 2}, new SplitMix64(99).permutation(10));
        assertEquals(-415071357024597959L, SplitMix64.seed(1, 2, 3));
        assertEquals(1097141246106826538L, SplitMix64.seed(3, 2, 1));
        assertEquals(-7046029254386353131L, SplitMix64.seed());
    }

    @Test
    void intsAreUniformAndInRange() {
        SplitMix64 r = new SplitMix64(5);
        int[] counts = new int[6];
        for (int i = 0; i < 60_000; i++) counts[r.nextInt(6)]++;
        double chiSquare = 0;
        for (int c : counts) chiSquare += (c - 10_000.0) * (c - 10_000.0) / 10_000.0;
        assertTrue(chiSquare < 20.5, "chi-square with 5 degrees of freedom, p = 0.001: " + Arrays.toString(counts));
        for (int i = 0; i < 1000; i++) assertEquals(0, r.nextInt(1));
        for (int i = 0; i < 1000; i++) {
            int v = r.nextInt(3);
            assertTrue(v >= 0 && v < 3, Integer.toString(v));
        }
        assertThrows(IllegalArgumentException.class, () -> r.nextInt(0));
        assertThrows(IllegalArgumentException.class, () -> r.nextInt(-4));
        double d = r.nextDouble();
        assertTrue(d >= 0 && d < 1);
    }

    @Test
    void permutationsHoldEveryIndexOnce() {
        int[] p = new SplitMix64(3).permutation(1000);
        int[] sorted = p.clone();
        Arrays.sort(sorted);
        for (int i = 0; i < sorted.length; i++) assertEquals(i, sorted[i]);
        assertNotEquals(Arrays.toString(sorted), Arrays.toString(p), "shuffled");
        assertArrayEquals(new int[0], new SplitMix64(3).permutation(0));
        assertArrayEquals(new int[] {0}, new SplitMix64(3).permutation(1));
    }
}
