package dev.jllama.model.backend.cpu;

import static dev.jllama.model.backend.cpu.Bf16TestValues.bits;
import static dev.jllama.model.backend.cpu.Bf16TestValues.gaussian;
import static dev.jllama.model.backend.cpu.Bf16TestValues.rounded;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * bf16 attention on sbgemm against bf16 attention on sgemm with rounded operands: both multiply the same bf16 values
 * and accumulate in fp32, so they differ only by summation order (and the bf16 rounding of a probability that the
 * order moves across a rounding boundary). Runs where the OpenBLAS in use has {@code cblas_sbgemm} (the packaged one
 * does not; {@code -Djllama.openblas.library=} names one that does).
 */
class BlasAttentionBf16Test {
    /** Relative to the largest magnitude of each output: far below a wrong offset, stride or transpose (order 1). */
    private static final double TOLERANCE = 2e-3;

    @Test
    void sbgemmAttentionComputesTheSameBf16ProductsAsRoundedSgemm() {
        OpenBlas blas = OpenBlas.get();
        assumeTrue(blas != null && blas.hasSbgemm(), "the OpenBLAS in use has no cblas_sbgemm");
        // Grouped-query heads, a sequence that ends in a partial block of queries, with and without example starts.
        int batch = 2, seqLen = 100, heads = 4, kvHeads = 2, headDim = 16;
        int rows = batch * seqLen, qSize = rows * heads * headDim, kvSize = rows * kvHeads * headDim;
        SplittableRandom random = new SplittableRandom(7);
        float[] q = rounded(gaussian(random, qSize)), k = rounded(gaussian(random, kvSize));
        float[] v = rounded(gaussian(random, kvSize)), dout = rounded(gaussian(random, qSize));
        int[] starts = new int[rows];
        for (int r = 0; r < rows; r++) starts[r] = (r % seqLen) < 40 ? 0 : 40;
        Parallel parallel = new Parallel(2);
        BlasAttention rounding = new BlasAttention(blas, parallel, true);
        BlasAttention sbgemm = BlasAttention.onSbgemm(blas, parallel);
        for (int[] exampleStarts : new int[][] {null, starts}) {
            Pass expected = new Pass(qSize, kvSize, batch * heads * seqLen);
            rounding.forward(expected.out, expected.lse, q, k, v, exampleStarts, batch, seqLen, heads, kvHeads, headDim);
            rounding.backward(expected.dq, expected.dk, expected.dv, dout, dout, expected.out, expected.lse, q, k, v,
                    exampleStarts, batch, seqLen, heads, kvHeads, headDim);
            Pass actual = new Pass(qSize, kvSize, batch * heads * seqLen);
            sbgemm.forward(actual.out, actual.lse, bits(q), bits(k), bits(v), exampleStarts,
                    batch, seqLen, heads, kvHeads, headDim);
            sbgemm.backward(actual.dq, actual.dk, actual.dv, bits(dout), dout, actual.out, actual.lse,
                    bits(q), bits(k), bits(v), exampleStarts, batch, seqLen, heads, kvHeads, headDim);
            String masking = exampleStarts == null ? "causal" : "per-example";
            check(masking + " out", actual.out, expected.out);
            check(masking + " lse", actual.lse, expected.lse);
            check(masking + " dq", actual.dq, expected.dq);
            check(masking + " dk", actual.dk, expected.dk);
            check(masking + " dv", actual.dv, expected.dv);
        }
    }

    private static final class Pass {
        final float[] out, lse, dq, dk, dv;

        Pass(int qSize, int kvSize, int lseSize) {
            out = new float[qSize];
            lse = new float[lseSize];
            dq = new float[qSize];
            dk = new float[kvSize];
            dv = new float[kvSize];
        }
    }

    private static void check(String what, float[] actual, float[] expected) {
        double largest = 0, worst = 0;
        for (int i = 0; i < expected.length; i++) {
            largest = Math.max(largest, Math.abs(expected[i]));
            worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
        }
        assertTrue(largest > 0, what + " is all zero");
        assertTrue(worst <= TOLERANCE * largest, what + ": largest difference " + worst + " against largest value "
                + largest);
    }
}
