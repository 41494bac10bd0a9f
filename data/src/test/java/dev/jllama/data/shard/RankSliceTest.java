package dev.jllama.data.shard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class RankSliceTest {

    @Test
    void ranksTileEachStepInRankOrderFromTheStart() {
        int world = 3;
        int perStep = 4;
        long start = 17;
        for (int r = 0; r < world; r++) {
            RankSlice s = new RankSlice(r, world, perStep);
            for (long k = 0; k < 50; k++) {
                long g = s.globalIndex(start, k);
                assertEquals(start + k / perStep * 12 + r * perStep + k % perStep, g);
                assertTrue(s.owns(start, g));
            }
            // firstOwnedAtOrAfter agrees with a brute-force scan of owns().
            for (long g = 0; g < 120; g++) {
                long expected = g;
                while (!s.owns(start, expected)) expected++;
                assertEquals(expected, s.firstOwnedAtOrAfter(start, g), "rank " + r + " from " + g);
            }
        }
    }

    @Test
    void positionIsOnlyDefinedAtStepBoundaries() {
        RankSlice s = new RankSlice(1, 2, 3);
        assertEquals(5 + 12, s.consumedAtStepBoundary(5, 6));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> s.consumedAtStepBoundary(5, 7));
        assertTrue(e.getMessage().contains("7 windows") && e.getMessage().contains("3 windows per step"), e.getMessage());
    }

    @Test
    void invalidSlicesAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> new RankSlice(2, 2, 1));
        assertThrows(IllegalArgumentException.class, () -> new RankSlice(-1, 2, 1));
        assertThrows(IllegalArgumentException.class, () -> new RankSlice(0, 0, 1));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new RankSlice(0, 1, 0));
        assertTrue(e.getMessage().contains("windowsPerStep"), e.getMessage());
    }
}
