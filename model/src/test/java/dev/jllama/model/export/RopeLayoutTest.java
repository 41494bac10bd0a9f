package dev.jllama.model.export;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The permutation is the one that makes Hugging Face's rotate-half RoPE on the permuted projection give the same
 * attention scores as Meta's interleaved RoPE on ours: q·k is invariant when both sides move the same way.
 */
class RopeLayoutTest {
    private static final int HEADS = 3, HEAD_DIM = 8, COLS = 5;

    @Test
    void rotateHalfOnPermutedRowsEqualsInterleavedOnOurs() {
        SplittableRandom random = new SplittableRandom(5);
        float[] w = random(random, HEADS * HEAD_DIM * COLS);
        float[] x = random(random, COLS);
        float[] hf = RopeLayout.interleavedToHalves(w, HEADS, HEAD_DIM, COLS);
        int position = 7;
        for (int h = 0; h < HEADS; h++) {
            double[] ours = rotate(project(w, x, h), position, true);
            double[] theirs = rotate(project(hf, x, h), position, false);
            // Same vector up to the order of its components: ours (2j, 2j+1) are theirs (j, j + half).
            int half = HEAD_DIM / 2;
            for (int j = 0; j < half; j++) {
                assertEquals(ours[2 * j], theirs[j], 1e-12, "head " + h + " pair " + j);
                assertEquals(ours[2 * j + 1], theirs[j + half], 1e-12, "head " + h + " pair " + j);
            }
        }
    }

    @Test
    void halvesToInterleavedUndoesIt() {
        float[] w = random(new SplittableRandom(9), HEADS * HEAD_DIM * COLS);
        assertArrayEquals(w, RopeLayout.halvesToInterleaved(RopeLayout.interleavedToHalves(w, HEADS, HEAD_DIM, COLS),
                HEADS, HEAD_DIM, COLS));
        float[] moved = RopeLayout.interleavedToHalves(w, HEADS, HEAD_DIM, COLS);
        // Row 1 of head 0 (pair 0, second element) becomes row half = 4.
        assertEquals(w[COLS], moved[4 * COLS]);
        assertEquals(w[2 * COLS], moved[COLS], "row 2 (pair 1, first) becomes row 1");
    }

    private static double[] project(float[] w, float[] x, int head) {
        double[] out = new double[HEAD_DIM];
        for (int r = 0; r < HEAD_DIM; r++) {
            for (int c = 0; c < COLS; c++) out[r] += (double) w[(head * HEAD_DIM + r) * COLS + c] * x[c];
        }
        return out;
    }

    /** Meta's interleaved pairs (2j, 2j+1) or Hugging Face's halves (j, j + half), frequency theta^(-2j/d). */
    private static double[] rotate(double[] v, int position, boolean interleaved) {
        int half = HEAD_DIM / 2;
        double[] out = v.clone();
        for (int j = 0; j < half; j++) {
            double angle = position * Math.pow(10000, -2.0 * j / HEAD_DIM);
            int a = interleaved ? 2 * j : j, b = interleaved ? 2 * j + 1 : j + half;
            out[a] = v[a] * Math.cos(angle) - v[b] * Math.sin(angle);
            out[b] = v[a] * Math.sin(angle) + v[b] * Math.cos(angle);
        }
        return out;
    }

    private static float[] random(SplittableRandom random, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) random.nextGaussian();
        return v;
    }
}
