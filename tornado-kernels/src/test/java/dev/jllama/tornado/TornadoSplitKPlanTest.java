package dev.jllama.tornado;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Which GEMMs {@link SplitK#plan} splits, and that its slices cover K exactly in whole 16-deep steps. */
class TornadoSplitKPlanTest {

    private static void assertCovers(SplitK.Plan p, int k) {
        assertEquals(0, p.kSlice() % 16, p + " for K " + k);
        assertTrue((long) p.slices() * p.kSlice() >= k && (long) (p.slices() - 1) * p.kSlice() < k,
                p + " must cover K " + k + " with no empty slice");
        assertTrue(p.slices() <= SplitK.MAX_SLICES, p.toString());
    }

    @Test
    void weightGradientsOfTheSmallModelFillTheGpu() {
        // dW of the 15M preset at batch 32 x 256: 9 or 18 tiles of 128, K = 8192 rows.
        for (int[] s : new int[][] {{288, 288}, {288, 768}, {768, 288}}) {
            SplitK.Plan p = SplitK.plan(s[0], s[1], 8192, 128);
            int tiles = ((s[0] + 127) / 128) * ((s[1] + 127) / 128);
            assertCovers(p, 8192);
            assertTrue(tiles * p.slices() >= 250, s[0] + "x" + s[1] + ": " + tiles + " tiles x " + p);
        }
        assertEquals(new SplitK.Plan(29, 288), SplitK.plan(288, 288, 8192, 128));
    }

    @Test
    void oddSizesSplitIntoWholeSlices() {
        for (int k : new int[] {1024, 1100, 3001, 8191, 65_537}) {
            for (int tile : new int[] {64, 128}) {
                SplitK.Plan p = SplitK.plan(37, 130, k, tile);
                assertTrue(p.slices() > 1, "K " + k + " tile " + tile + ": " + p);
                assertCovers(p, k);
                assertTrue(p.kSlice() >= SplitK.MIN_SLICE_K, p.toString());
            }
        }
    }

    @Test
    void largeGridsAndShortKStayUnsplit() {
        assertEquals(new SplitK.Plan(1, 288), SplitK.plan(8192, 288, 288, 128));
        assertEquals(new SplitK.Plan(1, 8192), SplitK.plan(1024, 1024, 8192, 128));
        assertEquals(new SplitK.Plan(1, 1023), SplitK.plan(37, 130, 1023, 128));
        // 288 x 768 has 18 tiles of 128 but 60 of 64, and 768 x 768 has 144 of 64: the grid is judged per kernel.
        assertTrue(SplitK.plan(288, 768, 8192, 64).slices() > 1);
        assertEquals(1, SplitK.plan(768, 768, 8192, 64).slices());
    }
}
