package dev.jllama.tornado;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Which GEMMs {@link SplitKPlan#of} splits, and that its slices cover K exactly in whole 16-deep steps. */
class SplitKPlanTest {

    private static void assertCovers(SplitKPlan p, int k) {
        assertEquals(0, p.kSlice() % 16, p + " for K " + k);
        assertTrue((long) p.slices() * p.kSlice() >= k && (long) (p.slices() - 1) * p.kSlice() < k,
                p + " must cover K " + k + " with no empty slice");
        assertTrue(p.slices() <= SplitKPlan.MAX_SLICES, p.toString());
    }

    @Test
    void weightGradientsOfTheSmallModelFillTheGpu() {
        // dW of the 15M preset at batch 32 x 256: 9 or 18 tiles of 128, K = 8192 rows.
        for (int[] s : new int[][] {{288, 288}, {288, 768}, {768, 288}}) {
            SplitKPlan p = SplitKPlan.of(s[0], s[1], 8192, 128, 16);
            int tiles = ((s[0] + 127) / 128) * ((s[1] + 127) / 128);
            assertCovers(p, 8192);
            assertTrue(tiles * p.slices() >= 250, s[0] + "x" + s[1] + ": " + tiles + " tiles x " + p);
        }
        assertEquals(new SplitKPlan(29, 288), SplitKPlan.of(288, 288, 8192, 128, 16));
    }

    @Test
    void oddSizesSplitIntoWholeSlices() {
        for (int k : new int[] {1024, 1100, 3001, 8191, 65_537}) {
            for (int tile : new int[] {64, 128}) {
                SplitKPlan p = SplitKPlan.of(37, 130, k, tile, 16);
                assertTrue(p.slices() > 1, "K " + k + " tile " + tile + ": " + p);
                assertCovers(p, k);
                assertTrue(p.kSlice() >= SplitKPlan.MIN_SLICE_K, p.toString());
            }
        }
    }

    @Test
    void largeGridsAndShortKStayUnsplit() {
        assertEquals(new SplitKPlan(1, 288), SplitKPlan.of(8192, 288, 288, 128, 16));
        assertEquals(new SplitKPlan(1, 8192), SplitKPlan.of(1024, 1024, 8192, 128, 16));
        assertEquals(new SplitKPlan(1, 1023), SplitKPlan.of(37, 130, 1023, 128, 16));
        // 288 x 768 has 18 tiles of 128 but 60 of 64, and 768 x 768 has 144 of 64: the grid is judged per kernel.
        assertTrue(SplitKPlan.of(288, 768, 8192, 64, 16).slices() > 1);
        assertEquals(1, SplitKPlan.of(768, 768, 8192, 64, 16).slices());
    }
}
