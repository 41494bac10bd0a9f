package dev.jllama.model.backend;

import static dev.jllama.model.GradCheck.normal;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jllama.model.backend.cpu.CpuBackend;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The three matmul forms against a naive triple loop in double. Each element must lie within the rigorous
 * float32 dot-product bound {@code gamma_(K+1) * (|c0| + sum_k |a_ik b_kj|)}, {@code gamma_n = n u / (1 - n u)},
 * {@code u = 2^-24}, whatever the summation order or blocking; a dropped, doubled or misplaced term of size
 * {@code |a_ik b_kj|} exceeds it by orders of magnitude.
 */
class MatmulReferenceTest {
    private static final double U = Math.ulp(1f) / 2;
    private static Backend backend;

    @BeforeAll
    static void start() {
        backend = new CpuBackend(2);
    }

    @AfterAll
    static void stop() {
        backend.close();
    }

    private static Tensor upload(Backend b, float[] data) {
        Tensor t = b.allocate("test", data.length);
        b.write(t, 0, data, 0, data.length);
        return t;
    }

    private static float[] read(Backend b, Tensor t) {
        float[] out = new float[t.size()];
        b.read(t, 0, out, 0, out.length);
        return out;
    }

    /** Element (i, j) of a row-major matrix read through strides. */
    private record M(float[] data, int rowStride, int colStride) {
        double get(int i, int j) {
            return data[i * rowStride + j * colStride];
        }
    }

    /** Checks {@code c = c0 (if accumulate) + A B} with A [m,k], B [k,n]; returns the worst error / bound. */
    private static double assertProduct(String what, float[] c, float[] c0, M a, M b, int m, int n, int k) {
        double worst = 0, gamma = (k + 1) * U / (1 - (k + 1) * U);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double exact = c0 == null ? 0 : c0[i * n + j];
                double magnitude = Math.abs(exact);
                for (int p = 0; p < k; p++) {
                    double term = a.get(i, p) * b.get(p, j);
                    exact += term;
                    magnitude += Math.abs(term);
                }
                double error = Math.abs(c[i * n + j] - exact);
                double bound = gamma * magnitude;
                if (error > bound) {
                    throw new AssertionError(what + ": element (" + i + ", " + j + ") = " + c[i * n + j]
                            + " but the exact value is " + exact + " (error " + error + " > bound " + bound + ")");
                }
                worst = Math.max(worst, error / bound);
            }
        }
        return worst;
    }

    /**
     * rows, in, out: not multiples of the 6-row micro-panel or the 32-float (2 x 16 lanes) column panel, and the
     * large case is above the 96-row, 256-deep and 512-column blocking in every form (the reduction dimension is
     * {@code in} for the forward, {@code out} for the input gradient and {@code rows} for the weight gradient).
     */
    @ParameterizedTest(name = "rows {0}, in {1}, out {2}")
    @CsvSource({"1, 1, 1", "5, 3, 7", "6, 32, 32", "7, 33, 31", "13, 17, 65", "97, 257, 513", "263, 517, 301"})
    void threeFormsMatchTheNaiveProduct(int rows, int in, int out) {
        SplittableRandom random = new SplittableRandom(rows * 31L + in * 7L + out);
        float[] x = normal(rows * in, 1, random), w = normal(out * in, 1, random), dy = normal(rows * out, 1, random);
        Tensor tx = upload(backend, x), tw = upload(backend, w), tdy = upload(backend, dy);

        // Forward: y[r,o] = sum_i x[r,i] w[o,i]; the output starts as garbage and must be overwritten.
        Tensor y = upload(backend, normal(rows * out, 1, random));
        backend.matmul(y, tx, tw, rows, in, out);
        double forward = assertProduct("matmul", read(backend, y), null, new M(x, in, 1), new M(w, 1, in), rows, out, in);

        // Input gradient, overwrite and accumulate.
        float[] dx0 = normal(rows * in, 1, random);
        Tensor dx = upload(backend, dx0);
        backend.matmulBackwardInput(dx, tdy, tw, rows, in, out, false);
        double input = assertProduct("matmulBackwardInput", read(backend, dx), null,
                new M(dy, out, 1), new M(w, in, 1), rows, in, out);
        backend.write(dx, 0, dx0, 0, dx0.length);
        backend.matmulBackwardInput(dx, tdy, tw, rows, in, out, true);
        double inputAcc = assertProduct("matmulBackwardInput(accumulate)", read(backend, dx), dx0,
                new M(dy, out, 1), new M(w, in, 1), rows, in, out);

        // Weight gradient: always accumulates.
        float[] dw0 = normal(out * in, 1, random);
        Tensor dw = upload(backend, dw0);
        backend.matmulBackwardWeight(dw, tdy, tx, rows, in, out);
        double weight = assertProduct("matmulBackwardWeight", read(backend, dw), dw0,
                new M(dy, 1, out), new M(x, in, 1), out, in, rows);
        System.out.printf("matmul %dx%dx%d worst error / rigorous bound: forward %.3f, input %.3f (acc %.3f), "
                + "weight %.3f%n", rows, in, out, forward, input, inputAcc, weight);
    }

    @Test
    void resultsDoNotDependOnTheThreadCount() {
        SplittableRandom random = new SplittableRandom(9);
        int rows = 263, in = 517, out = 301;
        float[] x = normal(rows * in, 1, random), w = normal(out * in, 1, random), dy = normal(rows * out, 1, random);
        float[][] results = new float[2][];
        int[] threads = {1, 3};
        for (int t = 0; t < 2; t++) {
            try (Backend b = new CpuBackend(threads[t])) {
                Tensor y = b.allocate("y", rows * out), dx = b.allocate("dx", rows * in), dw = b.allocate("dw", out * in);
                Tensor tx = upload(b, x), tw = upload(b, w), tdy = upload(b, dy);
                b.matmul(y, tx, tw, rows, in, out);
                b.matmulBackwardInput(dx, tdy, tw, rows, in, out, false);
                b.matmulBackwardWeight(dw, tdy, tx, rows, in, out);
                float[] all = new float[y.size() + dx.size() + dw.size()];
                b.read(y, 0, all, 0, y.size());
                b.read(dx, 0, all, y.size(), dx.size());
                b.read(dw, 0, all, y.size() + dx.size(), dw.size());
                results[t] = all;
            }
        }
        assertTrue(results[0].length > 0);
        assertArrayEquals(results[0], results[1], "1 thread and 3 threads must give bit-identical products");
    }
}
