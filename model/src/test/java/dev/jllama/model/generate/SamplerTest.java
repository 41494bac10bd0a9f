package dev.jllama.model.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SamplerTest {
    private static float[] logits(int vocab, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        float[] z = new float[vocab];
        for (int i = 0; i < vocab; i++) z[i] = (float) (random.nextGaussian() * 2);
        return z;
    }

    private static int[] draws(Sampler sampler, int n) {
        int[] out = new int[n];
        for (int i = 0; i < n; i++) out[i] = sampler.next(logits(50, i));
        return out;
    }

    @Test
    void aSeedReplaysTheSameDrawsAndAnotherSeedDoesNot() {
        assertArrayEquals(draws(new Sampler(1.0, 0, 0.9, 42), 200), draws(new Sampler(1.0, 0, 0.9, 42), 200));
        assertFalse(java.util.Arrays.equals(draws(new Sampler(1.0, 0, 0.9, 42), 200),
                draws(new Sampler(1.0, 0, 0.9, 43), 200)));
    }

    @Test
    void topKOfOneAndTemperatureZeroAreGreedy() {
        for (int i = 0; i < 100; i++) {
            float[] z = logits(50, i);
            int best = Sampler.argmax(z);
            assertEquals(best, new Sampler(0, 0, 1, i).next(z));
            assertEquals(best, new Sampler(1.5, 1, 1, i).next(z));
        }
    }

    @Test
    void drawsFollowTheTemperedSoftmaxWithinTopKAndTopP() {
        float[] z = {2f, 1f, 0f, -1f, -5f};
        double t = 0.7;
        double[] p = new double[z.length];
        double total = 0;
        for (int i = 0; i < z.length; i++) total += p[i] = Math.exp(z[i] / t);
        for (int i = 0; i < z.length; i++) p[i] /= total;

        int n = 200_000;
        int[] counts = new int[z.length];
        Sampler full = new Sampler(t, 0, 1, 7);
        for (int i = 0; i < n; i++) counts[full.next(z)]++;
        for (int i = 0; i < z.length; i++) {
            double sd = Math.sqrt(p[i] * (1 - p[i]) / n);
            assertEquals(p[i], counts[i] / (double) n, 5 * sd + 1e-9, "token " + i);
        }

        int[] topK = new int[z.length];
        Sampler k2 = new Sampler(t, 2, 1, 8);
        for (int i = 0; i < n; i++) topK[k2.next(z)]++;
        assertEquals(0, topK[2] + topK[3] + topK[4], "top-k 2 draws only the two most likely");
        assertEquals(p[0] / (p[0] + p[1]), topK[0] / (double) n, 0.01);

        // p[0] < 0.8 <= p[0] + p[1]: top-p 0.8 keeps exactly the two most likely tokens.
        assertTrue(p[0] < 0.8 && p[0] + p[1] >= 0.8);
        int[] topP = new int[z.length];
        Sampler p8 = new Sampler(t, 0, 0.8, 9);
        for (int i = 0; i < n; i++) topP[p8.next(z)]++;
        assertEquals(0, topP[2] + topP[3] + topP[4]);
        assertEquals(p[0] / (p[0] + p[1]), topP[0] / (double) n, 0.01);
    }

    @Test
    void badSettingsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> new Sampler(-0.1, 0, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> new Sampler(1, -1, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> new Sampler(1, 0, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new Sampler(1, 0, 1.5, 0));
    }
}
