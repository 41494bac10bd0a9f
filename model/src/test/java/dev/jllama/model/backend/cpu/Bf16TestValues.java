package dev.jllama.model.backend.cpu;

import java.util.SplittableRandom;

/** Operands for the bf16 tests: Gaussian values, rounded to bf16, as bits. */
final class Bf16TestValues {
    private Bf16TestValues() {}

    static float[] gaussian(SplittableRandom random, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) random.nextGaussian();
        return x;
    }

    /** {@code x} rounded to bf16, in fp32. */
    static float[] rounded(float[] x) {
        float[] r = new float[x.length];
        Bf16.round(x, 0, r, 0, x.length);
        return r;
    }

    /** {@code x} rounded to bf16, as bits. */
    static short[] bits(float[] x) {
        short[] b = new short[x.length];
        Bf16.toBits(x, 0, b, 0, x.length);
        return b;
    }
}
