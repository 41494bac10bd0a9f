package dev.jllama.model.backend;

import static dev.jllama.model.GradCheck.normal;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.jllama.model.backend.cpu.CpuBackend;
import java.util.SplittableRandom;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The three matmul forms against a naive triple loop in double. Each element must lie within the rigorous
 * float32 dot-product bound {@code gamma_(K+1) * (|c0| + sum_k |a_ik b_kj|)}, {@code gamma_n = n u / (1 - n u)},
 * {@code u = 2^-24}, whatever the summation order or blocking; a dropped, doubled or misplaced term of size
 * {@code |a_ik b_kj|} exceeds it by orders of magnitude. Every test runs for both matmul kernels: the Java Vector API
 * one and native OpenBLAS (whose natives ship inside the jar for linux-x86_64, so there it must load).
 */
class MatmulReferenceTest {
    private static final double U = Math.ulp(1f) / 2;
    private static final Map<String, CpuBackend> BACKENDS = new TreeMap<>();

    @BeforeAll
    static void start() {
        BACKENDS.put("java", new CpuBackend(2, "java"));
        if (nativesExpected()) BACKENDS.put("openblas", new CpuBackend(2, "openblas"));
    }

    @AfterAll
    static void stop() {
        BACKENDS.values().forEach(CpuBackend::close);
    }

    /** The OpenBLAS natives are packaged for Linux on x86_64; elsewhere the backend falls back to the Java kernel. */
    private static boolean nativesExpected() {
        String arch = System.getProperty("os.arch");
        return System.getProperty("os.name").startsWith("Linux") && (arch.equals("amd64") || arch.equals("x86_64"));
    }

    private static CpuBackend backend(String kernel, int threads) {
        assumeTrue(!kernel.equals("openblas") || nativesExpected(),
                "OpenBLAS natives are shipped for linux-x86_64 only, this is " + System.getProperty("os.name") + " "
                        + System.getProperty("os.arch"));
        CpuBackend backend = new CpuBackend(threads, kernel);
        assertTrue(backend.matmulKernel().startsWith(kernel.equals("java") ? "java-vector" : "openblas "),
                backend.matmulKernel());
        return backend;
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
    @ParameterizedTest(name = "{0}: rows {1}, in {2}, out {3}")
    @CsvSource({"java, 1, 1, 1", "java, 5, 3, 7", "java, 6, 32, 32", "java, 7, 33, 31", "java, 13, 17, 65",
            "java, 97, 257, 513", "java, 263, 517, 301",
            "openblas, 1, 1, 1", "openblas, 5, 3, 7", "openblas, 6, 32, 32", "openblas, 7, 33, 31",
            "openblas, 13, 17, 65", "openblas, 97, 257, 513", "openblas, 263, 517, 301", "openblas, 600, 72, 1100"})
    void threeFormsMatchTheNaiveProduct(String kernel, int rows, int in, int out) {
        assumeTrue(!kernel.equals("openblas") || nativesExpected(), "OpenBLAS natives are for linux-x86_64 only");
        Backend backend = BACKENDS.get(kernel);
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
        System.out.printf(kernel + " matmul %dx%dx%d worst error / rigorous bound: forward %.3f, input %.3f (acc %.3f), "
                + "weight %.3f%n", rows, in, out, forward, input, inputAcc, weight);
    }

    /**
     * Bit-identical for 1, 2, 3 and 5 threads, and on a second call (cold and warm), on an odd shape and on the 15M
     * preset's feed-forward shape at 1024 rows; each kernel splits the work by shape only.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"java", "openblas"})
    void resultsDoNotDependOnTheThreadCountOrWarmUp(String kernel) {
        for (int[] shape : new int[][] {{263, 517, 301}, {1024, 288, 768}}) {
            int rows = shape[0], in = shape[1], out = shape[2];
            SplittableRandom random = new SplittableRandom(9);
            float[] x = normal(rows * in, 1, random), w = normal(out * in, 1, random);
            float[] dy = normal(rows * out, 1, random);
            float[] first = null;
            for (int threads : new int[] {1, 2, 3, 5}) {
                try (Backend b = backend(kernel, threads)) {
                    for (int call = 0; call < 2; call++) {
                        float[] all = threeForms(b, x, w, dy, rows, in, out);
                        if (first == null) first = all;
                        assertArrayEquals(first, all, kernel + " " + rows + "x" + in + "x" + out + ": " + threads
                                + " threads, call " + (call + 1) + " must equal 1 thread's first call bit for bit");
                    }
                }
            }
        }
    }

    /** Forward, input gradient and weight gradient (accumulated onto fixed values), concatenated. */
    private static float[] threeForms(Backend b, float[] x, float[] w, float[] dy, int rows, int in, int out) {
        Tensor y = b.allocate("y", rows * out), dx = b.allocate("dx", rows * in), dw = b.allocate("dw", out * in);
        Tensor tx = upload(b, x), tw = upload(b, w), tdy = upload(b, dy);
        b.write(dw, 0, w, 0, w.length);
        b.matmul(y, tx, tw, rows, in, out);
        b.matmulBackwardInput(dx, tdy, tw, rows, in, out, false);
        b.matmulBackwardWeight(dw, tdy, tx, rows, in, out);
        float[] all = new float[y.size() + dx.size() + dw.size()];
        b.read(y, 0, all, 0, y.size());
        b.read(dx, 0, all, y.size(), dx.size());
        b.read(dw, 0, all, y.size() + dx.size(), dw.size());
        assertTrue(all.length > 0);
        return all;
    }
}
