package dev.jllama.model.backend.cpu;

import static dev.jllama.model.backend.cpu.Bf16TestValues.gaussian;
import static dev.jllama.model.backend.cpu.Bf16TestValues.rounded;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The bf16 matmul in both of its forms, against a double-precision product of the operands rounded to bf16: the
 * rounding form on any machine, the sbgemm form where the OpenBLAS in use has {@code cblas_sbgemm} (the packaged
 * one does not; {@code -Djllama.openblas.library=} names one that does).
 */
class Bf16MatmulTest {
    /**
     * Shapes with ragged edges and tiles on either side, the 15M preset's attention projection, and an inner
     * dimension that dwarfs C (cut into chunks instead of C, as the LM head's input gradient is).
     */
    private static final int[][] SHAPES = {{37, 45, 300}, {300, 70, 129}, {128, 288, 288}, {20, 24, 2200}};

    /** {@code c0 + op(A) op(B)} in double from the bf16-rounded operands: what a bf16 GEMM must compute. */
    private static double[] reference(int m, int n, int k, float[] a, boolean transA, float[] b, boolean transB,
                                      float[] c0) {
        float[] ra = rounded(a), rb = rounded(b);
        double[] c = new double[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double sum = c0 == null ? 0 : c0[i * n + j];
                for (int p = 0; p < k; p++) {
                    sum += (double) ra[transA ? p * m + i : i * k + p] * rb[transB ? j * k + p : p * n + j];
                }
                c[i * n + j] = sum;
            }
        }
        return c;
    }

    private static double relativeError(float[] actual, double[] expected) {
        double diff = 0, norm = 0;
        for (int i = 0; i < expected.length; i++) {
            diff += (actual[i] - expected[i]) * (actual[i] - expected[i]);
            norm += expected[i] * expected[i];
        }
        return Math.sqrt(diff / norm);
    }

    /**
     * Every shape, transpose and accumulate flag within 2e-6 (fp32 accumulation of exact products over k ≤ 300;
     * growing with the square root of a longer k) of the reference, while the fp32 product of the unrounded operands is about 3e-3 away (bf16's unit roundoff
     * 2^-8 over two operands), so a kernel that skipped the rounding would fail.
     */
    private static void checkAgainstReference(MatmulKernel bf16, MatmulKernel fp32) {
        SplittableRandom random = new SplittableRandom(7);
        for (int[] shape : SHAPES) {
            int m = shape[0], n = shape[1], k = shape[2];
            float[] a = gaussian(random, m * k), b = gaussian(random, k * n), c0 = gaussian(random, m * n);
            for (int form = 0; form < 8; form++) {
                boolean transA = (form & 1) != 0, transB = (form & 2) != 0, accumulate = (form & 4) != 0;
                String what = bf16.describe() + " " + m + "x" + n + "x" + k + " transA " + transA + " transB "
                        + transB + " accumulate " + accumulate;
                double[] expected = reference(m, n, k, a, transA, b, transB, accumulate ? c0 : null);
                float[] c = accumulate ? c0.clone() : gaussian(random, m * n);
                bf16.multiply(m, n, k, a, transA, b, transB, c, accumulate);
                double error = relativeError(c, expected);
                assertTrue(error < 2e-6 * Math.max(1, Math.sqrt(k / 300.0)), what + ": relative error " + error);
                float[] unrounded = accumulate ? c0.clone() : new float[m * n];
                fp32.multiply(m, n, k, a, transA, b, transB, unrounded, accumulate);
                double fp32Distance = relativeError(unrounded, expected);
                assertTrue(fp32Distance > 100 * error, what + ": fp32 is as close as bf16 (" + fp32Distance + ")");
            }
        }
    }

    /** The same bits with 1 and 3 threads, tiles of C or chunks of k: they depend on the shape only. */
    private static void checkThreadIndependence(java.util.function.Function<Parallel, MatmulKernel> kernel) {
        SplittableRandom random = new SplittableRandom(9);
        for (int[] shape : new int[][] {{300, 520, 96}, {20, 40, 3000}}) {
            int m = shape[0], n = shape[1], k = shape[2];
            float[] a = gaussian(random, m * k), b = gaussian(random, k * n);
            float[] one = new float[m * n], three = new float[m * n];
            try (Parallel p1 = new Parallel(1); Parallel p3 = new Parallel(3)) {
                kernel.apply(p1).multiply(m, n, k, a, false, b, true, one, false);
                kernel.apply(p3).multiply(m, n, k, a, false, b, true, three, false);
            }
            assertArrayEquals(one, three, m + "x" + n + "x" + k);
        }
    }

    @Test
    void roundingFormComputesTheBf16ProductsOnTheJavaKernel() {
        try (Parallel parallel = new Parallel(2)) {
            Gemm fp32 = new Gemm(parallel);
            checkAgainstReference(Bf16Matmul.rounding(fp32, parallel, "test"), fp32);
        }
        checkThreadIndependence(p -> Bf16Matmul.rounding(new Gemm(p), p, "test"));
    }

    @Test
    void roundingFormComputesTheBf16ProductsOnOpenBlas() {
        assumeTrue(OpenBlas.get() != null, "no native OpenBLAS here: " + OpenBlas.failure());
        try (Parallel parallel = new Parallel(2)) {
            OpenBlasGemm fp32 = new OpenBlasGemm(OpenBlas.get(), parallel);
            checkAgainstReference(Bf16Matmul.rounding(fp32, parallel, "test"), fp32);
        }
        checkThreadIndependence(p -> Bf16Matmul.rounding(new OpenBlasGemm(OpenBlas.get(), p), p, "test"));
    }

    @Test
    void sbgemmFormComputesTheBf16Products() {
        assumeTrue(OpenBlas.get() != null && OpenBlas.get().hasSbgemm(), "the OpenBLAS in use has no cblas_sbgemm "
                + "(the packaged build lacks it; -D" + OpenBlas.LIBRARY_PROPERTY + "= names one that has it)");
        try (Parallel parallel = new Parallel(2)) {
            checkAgainstReference(Bf16Matmul.onSbgemm(OpenBlas.get(), parallel, "test"),
                    new OpenBlasGemm(OpenBlas.get(), parallel));
        }
        checkThreadIndependence(p -> Bf16Matmul.onSbgemm(OpenBlas.get(), p, "test"));
    }
}
