package dev.jllama.model.backend;

import static dev.jllama.model.GradCheck.assertClose;
import static dev.jllama.model.GradCheck.check;
import static dev.jllama.model.GradCheck.dot;
import static dev.jllama.model.GradCheck.minus;
import static dev.jllama.model.GradCheck.normal;
import static dev.jllama.model.GradCheck.sample;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.jllama.model.backend.cpu.CpuBackend;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Finite-difference checks of every kernel's backward: for a random linear functional {@code L = sum c . y} of a
 * kernel's output, the backward kernel fed with {@code dout = c} must agree with central differences of L
 * (see {@link dev.jllama.model.GradCheck} for the error model).
 *
 * <p>Tolerances: inputs are O(1) and the step is {@code h = 1e-2}. For the linear kernels (matmul, RoPE, embedding)
 * there is no truncation error and the rounding term is about {@code sqrt(K) * 6e-8 * |y| / 2e-2 ≈ 1e-5}
 * relative; for the smooth nonlinear ones the truncation term {@code h^2 |f'''| / 6} dominates, largest for the
 * softmax of attention. Measured (printed on stdout): 6e-8 (embedding) .. 1.8e-4 (attention dq/dk), so a bound
 * of {@code 1e-3} leaves a 5x margin, while any real backward bug (a missing term, a wrong index, a sign) shows
 * up as an O(1e-1 .. 1) relative error.
 */
class KernelGradientTest {
    private static final double H = 1e-2;
    private static final double TOLERANCE = 1e-3;
    private static Backend backend;

    @BeforeAll
    static void start() {
        backend = new CpuBackend(2);
    }

    @AfterAll
    static void stop() {
        backend.close();
    }

    private static Tensor upload(float[] data) {
        Tensor t = backend.allocate("test", data.length);
        backend.write(t, 0, data, 0, data.length);
        return t;
    }

    private static void upload(Tensor t, float[] data) {
        backend.write(t, 0, data, 0, data.length);
    }

    private static float[] read(Tensor t) {
        float[] out = new float[t.size()];
        backend.read(t, 0, out, 0, out.length);
        return out;
    }

    private static IntTensor ints(int[] data) {
        IntTensor t = backend.allocateInts("ints", data.length);
        backend.writeInts(t, data, data.length);
        return t;
    }

    // ------------------------------------------------------------------ matmul

    @Test
    void matmulBackwardFormsAreTheGradientsOfTheForward() {
        SplittableRandom random = new SplittableRandom(1);
        // Odd sizes: 7 rows is one full 6-row micro-panel plus one row; 37 and 19 leave vector tails.
        int rows = 7, in = 37, out = 19;
        float[] x = normal(rows * in, 1, random);
        float[] w = normal(out * in, 1, random);
        float[] c = normal(rows * out, 1, random);
        Tensor tx = upload(x), tw = upload(w), ty = backend.allocate("y", rows * out);
        Functional f = () -> {
            upload(tx, x);
            upload(tw, w);
            backend.matmul(ty, tx, tw, rows, in, out);
            return dot(c, read(ty));
        };
        Tensor dout = upload(c);
        Tensor dx = backend.allocate("dx", rows * in);
        backend.matmulBackwardInput(dx, dout, tw, rows, in, out, false);
        // The weight gradient accumulates: start from a known non-zero value and subtract it.
        float[] dwStart = normal(out * in, 1, random);
        Tensor dw = upload(dwStart);
        backend.matmulBackwardWeight(dw, dout, tx, rows, in, out);
        assertClose(check("matmul dL/dx", x, sample(x.length, 60, random), H, v -> f.get(), read(dx)), TOLERANCE);
        assertClose(check("matmul dL/dw", w, sample(w.length, 60, random), H, v -> f.get(), minus(read(dw), dwStart)),
                TOLERANCE);
    }

    /** A scalar function of the current test inputs. */
    @FunctionalInterface
    private interface Functional {
        double get();
    }

    // ------------------------------------------------------------------ RMSNorm

    @Test
    void rmsnormBackward() {
        SplittableRandom random = new SplittableRandom(2);
        int rows = 13, dim = 37;
        float eps = 1e-5f;
        float[] x = normal(rows * dim, 1, random);
        float[] gain = normal(dim, 0.3, random);
        for (int i = 0; i < dim; i++) gain[i] += 1f;
        float[] c = normal(rows * dim, 1, random);
        Tensor tx = upload(x), tg = upload(gain), ty = backend.allocate("y", rows * dim), rstd = backend.allocate("r", rows);
        Functional f = () -> {
            upload(tx, x);
            upload(tg, gain);
            backend.rmsnorm(ty, rstd, tx, tg, rows, dim, eps);
            return dot(c, read(ty));
        };
        f.get();
        // Forward against the definition, in double.
        float[] y = read(ty), r = read(rstd);
        double err = 0, ref = 0;
        for (int row = 0; row < rows; row++) {
            double ms = 0;
            for (int i = 0; i < dim; i++) ms += (double) x[row * dim + i] * x[row * dim + i];
            double inv = 1 / Math.sqrt(ms / dim + eps);
            assertEquals(inv, r[row], 1e-6 * inv, "rstd of row " + row);
            for (int i = 0; i < dim; i++) {
                double e = x[row * dim + i] * inv * gain[i];
                err += (e - y[row * dim + i]) * (e - y[row * dim + i]);
                ref += e * e;
            }
        }
        assertEquals(0, Math.sqrt(err / ref), 1e-6, "rmsnorm forward vs double reference");
        // Both outputs accumulate: start from known values.
        float[] dxStart = normal(rows * dim, 1, random), dgStart = normal(dim, 1, random);
        Tensor dx = upload(dxStart), dg = upload(dgStart);
        backend.rmsnormBackward(dx, dg, upload(c), tx, tg, rstd, rows, dim);
        assertClose(check("rmsnorm dL/dx", x, sample(x.length, 80, random), H, v -> f.get(), minus(read(dx), dxStart)),
                TOLERANCE);
        assertClose(check("rmsnorm dL/dgain", gain, sample(dim, dim, random), H, v -> f.get(),
                minus(read(dg), dgStart)), TOLERANCE);
    }

    // ------------------------------------------------------------------ RoPE

    /** cos, sin per (pos, pair), from the definition in double. */
    static float[] ropeTable(int seqLen, int headDim, double theta) {
        float[] table = new float[seqLen * headDim];
        for (int pos = 0; pos < seqLen; pos++) {
            for (int j = 0; j < headDim / 2; j++) {
                double angle = pos * Math.pow(theta, -2.0 * j / headDim);
                table[(pos * headDim / 2 + j) * 2] = (float) Math.cos(angle);
                table[(pos * headDim / 2 + j) * 2 + 1] = (float) Math.sin(angle);
            }
        }
        return table;
    }

    @Test
    void ropeForwardIsMetaInterleavedAndBackwardIsItsTranspose() {
        SplittableRandom random = new SplittableRandom(3);
        int batch = 2, seqLen = 9, heads = 3, headDim = 10, rows = batch * seqLen, width = heads * headDim;
        double theta = 10000;
        Tensor table = upload(ropeTable(seqLen, headDim, theta));
        float[] x = normal(rows * width, 1, random);
        float[] c = normal(rows * width, 1, random);
        Tensor tx = backend.allocate("x", x.length);
        Functional f = () -> {
            upload(tx, x);
            backend.rope(tx, table, rows, seqLen, heads, headDim, false);
            return dot(c, read(tx));
        };
        f.get();
        float[] y = read(tx);
        for (int row = 0; row < rows; row++) {
            int pos = row % seqLen;
            for (int h = 0; h < heads; h++) {
                for (int j = 0; j < headDim / 2; j++) {
                    double angle = pos * Math.pow(theta, -2.0 * j / headDim);
                    int at = row * width + h * headDim + 2 * j;
                    double a = x[at], b = x[at + 1];
                    assertEquals(a * Math.cos(angle) - b * Math.sin(angle), y[at], 1e-5, "rope even, row " + row);
                    assertEquals(a * Math.sin(angle) + b * Math.cos(angle), y[at + 1], 1e-5, "rope odd, row " + row);
                }
            }
        }
        Tensor d = upload(c);
        backend.rope(d, table, rows, seqLen, heads, headDim, true);
        assertClose(check("rope dL/dx", x, sample(x.length, 80, random), H, v -> f.get(), read(d)), TOLERANCE);
        // The inverse undoes the forward (re-run it: the check left the last perturbed input in tx).
        f.get();
        backend.rope(tx, table, rows, seqLen, heads, headDim, true);
        float[] back = read(tx);
        for (int i = 0; i < x.length; i++) assertEquals(x[i], back[i], 1e-5, "inverse rope at " + i);
    }

    // ------------------------------------------------------------------ SwiGLU

    @Test
    void swigluBackward() {
        SplittableRandom random = new SplittableRandom(4);
        int n = 101;
        float[] gate = normal(n, 2.5, random), up = normal(n, 1, random), c = normal(n, 1, random);
        Tensor tg = upload(gate), tu = upload(up), ty = backend.allocate("y", n);
        Functional f = () -> {
            upload(tg, gate);
            upload(tu, up);
            backend.swiglu(ty, tg, tu, n);
            return dot(c, read(ty));
        };
        f.get();
        float[] y = read(ty);
        for (int i = 0; i < n; i++) {
            double g = gate[i];
            assertEquals(g / (1 + Math.exp(-g)) * up[i], y[i], 1e-6 * (1 + Math.abs(y[i])), "swiglu at " + i);
        }
        Tensor dg = backend.allocate("dg", n), du = backend.allocate("du", n);
        backend.swigluBackward(dg, du, upload(c), tg, tu, n);
        assertClose(check("swiglu dL/dgate", gate, sample(n, n, random), H, v -> f.get(), read(dg)), TOLERANCE);
        assertClose(check("swiglu dL/dup", up, sample(n, n, random), H, v -> f.get(), read(du)), TOLERANCE);
    }

    // ------------------------------------------------------------------ attention

    /**
     * seqLen 70 crosses the 64-key block of the online softmax; heads/kvHeads cover grouped-query (4/2),
     * multi-query (4/1) and plain multi-head (3/3); headDim 20 leaves a vector tail after 16 lanes; seqLen 150 spans
     * three 64-query blocks of the OpenBLAS attention. Both attention kernels: the Java one (with the Java matmul) and
     * the blocked one on OpenBLAS (CPU tensors are heap arrays, so the test's backend uploads and reads for both).
     */
    @ParameterizedTest(name = "{5}: batch {0}, seq {1}, heads {2}, kv heads {3}, head dim {4}")
    @CsvSource({"2, 70, 4, 2, 20, java", "1, 67, 4, 1, 12, java", "2, 9, 3, 3, 6, java",
            "2, 70, 4, 2, 20, openblas", "1, 67, 4, 1, 12, openblas", "2, 9, 3, 3, 6, openblas",
            "1, 150, 2, 1, 16, openblas"})
    void attentionForwardAndBackward(int batch, int seqLen, int heads, int kvHeads, int headDim, String kernel) {
        String arch = System.getProperty("os.arch");
        assumeTrue(kernel.equals("java") || System.getProperty("os.name").startsWith("Linux")
                && (arch.equals("amd64") || arch.equals("x86_64")), "OpenBLAS natives are for linux-x86_64 only");
        try (Backend attention = new CpuBackend(2, kernel)) {
            attentionForwardAndBackward(attention, batch, seqLen, heads, kvHeads, headDim);
        }
    }

    private static void attentionForwardAndBackward(Backend attention, int batch, int seqLen, int heads, int kvHeads,
                                                    int headDim) {
        SplittableRandom random = new SplittableRandom(5 + seqLen);
        int rows = batch * seqLen, qWidth = heads * headDim, kvWidth = kvHeads * headDim;
        // Scale 1.5 makes the softmax peaky enough that the probabilities matter, not just their mean.
        float[] q = normal(rows * qWidth, 1.5, random), k = normal(rows * kvWidth, 1.5, random);
        float[] v = normal(rows * kvWidth, 1, random), c = normal(rows * qWidth, 1, random);
        Tensor tq = upload(q), tk = upload(k), tv = upload(v);
        Tensor out = backend.allocate("out", rows * qWidth), lse = backend.allocate("lse", batch * heads * seqLen);
        Functional f = () -> {
            upload(tq, q);
            upload(tk, k);
            upload(tv, v);
            attention.attention(out, lse, tq, tk, tv, batch, seqLen, heads, kvHeads, headDim);
            return dot(c, read(out));
        };
        f.get();
        assertMatchesNaiveAttention(read(out), read(lse), q, k, v, batch, seqLen, heads, kvHeads, headDim);
        Tensor dq = upload(normal(q.length, 1, random)), dk = upload(normal(k.length, 1, random));
        Tensor dv = upload(normal(v.length, 1, random)); // garbage: the kernel must overwrite
        attention.attentionBackward(dq, dk, dv, upload(c), out, lse, tq, tk, tv, batch, seqLen, heads, kvHeads,
                headDim);
        String tag = " (" + heads + "/" + kvHeads + " heads, seq " + seqLen + ")";
        assertClose(check("attention dL/dq" + tag, q, sample(q.length, 60, random), H, x -> f.get(), read(dq)),
                TOLERANCE);
        assertClose(check("attention dL/dk" + tag, k, sample(k.length, 60, random), H, x -> f.get(), read(dk)),
                TOLERANCE);
        assertClose(check("attention dL/dv" + tag, v, sample(v.length, 60, random), H, x -> f.get(), read(dv)),
                TOLERANCE);
    }

    /** Full-matrix softmax attention in double: query head h reads kv head h / (heads / kvHeads). */
    private static void assertMatchesNaiveAttention(float[] out, float[] lse, float[] q, float[] k, float[] v,
                                                    int batch, int seqLen, int heads, int kvHeads, int headDim) {
        int group = heads / kvHeads, qWidth = heads * headDim, kvWidth = kvHeads * headDim;
        double scale = 1 / Math.sqrt(headDim);
        double err = 0, ref = 0;
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < heads; h++) {
                int kvh = h / group;
                for (int t = 0; t < seqLen; t++) {
                    int qAt = (b * seqLen + t) * qWidth + h * headDim;
                    double[] s = new double[t + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j <= t; j++) {
                        int kAt = (b * seqLen + j) * kvWidth + kvh * headDim;
                        double dotp = 0;
                        for (int d = 0; d < headDim; d++) dotp += (double) q[qAt + d] * k[kAt + d];
                        s[j] = dotp * scale;
                        max = Math.max(max, s[j]);
                    }
                    double denom = 0;
                    for (int j = 0; j <= t; j++) denom += Math.exp(s[j] - max);
                    double expectedLse = max + Math.log(denom);
                    assertEquals(expectedLse, lse[(b * heads + h) * seqLen + t], 1e-5 * (1 + Math.abs(expectedLse)),
                            "lse of batch " + b + " head " + h + " query " + t);
                    for (int d = 0; d < headDim; d++) {
                        double o = 0;
                        for (int j = 0; j <= t; j++) {
                            o += Math.exp(s[j] - expectedLse) * v[(b * seqLen + j) * kvWidth + kvh * headDim + d];
                        }
                        double diff = o - out[qAt + d];
                        err += diff * diff;
                        ref += o * o;
                    }
                }
            }
        }
        double relative = Math.sqrt(err / ref);
        System.out.printf("attention forward vs double reference: rel %.3e%n", relative);
        assertEquals(0, relative, 1e-6, "attention forward vs the naive double-precision reference");
    }

    // ------------------------------------------------------------------ embedding

    @Test
    void embeddingBackwardAccumulatesRepeatedTokens() {
        SplittableRandom random = new SplittableRandom(6);
        int vocab = 11, dim = 37, rows = 23;
        int[] tokens = new int[rows];
        for (int r = 0; r < rows; r++) tokens[r] = random.nextInt(vocab - 1); // token vocab-1 never occurs
        tokens[5] = tokens[17] = 3;
        float[] table = normal(vocab * dim, 1, random), c = normal(rows * dim, 1, random);
        IntTensor ids = ints(tokens);
        Tensor tt = upload(table), ty = backend.allocate("y", rows * dim);
        Functional f = () -> {
            upload(tt, table);
            backend.embedding(ty, tt, ids, rows, dim);
            return dot(c, read(ty));
        };
        f.get();
        float[] y = read(ty);
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < dim; i++) assertEquals(table[tokens[r] * dim + i], y[r * dim + i], "row " + r);
        }
        float[] start = normal(vocab * dim, 1, random);
        Tensor dt = upload(start);
        backend.embeddingBackward(dt, upload(c), ids, rows, dim);
        float[] grad = minus(read(dt), start);
        assertClose(check("embedding dL/dtable", table, sample(table.length, 120, random), H, x -> f.get(), grad),
                TOLERANCE);
        for (int i = 0; i < dim; i++) assertEquals(0f, grad[(vocab - 1) * dim + i], 1e-6, "unused token's row");
        assertThrows(IllegalArgumentException.class,
                () -> backend.embedding(ty, tt, ints(new int[] {vocab}), 1, dim), "token id outside the vocabulary");
    }

    // ------------------------------------------------------------------ cross-entropy

    @Test
    void crossEntropyLossAndGradient() {
        SplittableRandom random = new SplittableRandom(7);
        int rows = 9, vocab = 37, lossOffset = 4, targetOffset = 3;
        float gradScale = 0.37f;
        float[] logits = normal(rows * vocab, 3, random);
        int[] targets = new int[targetOffset + rows];
        for (int i = 0; i < targets.length; i++) targets[i] = random.nextInt(vocab);
        targets[targetOffset + 2] = -1; // ignored row
        targets[targetOffset + rows - 1] = vocab - 1; // last column: the vector tail of the max
        IntTensor ids = ints(targets);
        Tensor tz = backend.allocate("z", logits.length), losses = backend.allocate("losses", lossOffset + rows);
        Functional f = () -> {
            upload(tz, logits);
            backend.crossEntropy(losses, lossOffset, tz, ids, targetOffset, rows, vocab, gradScale);
            double sum = 0;
            for (float l : read(losses)) sum += l;
            return gradScale * sum;
        };
        f.get();
        float[] loss = read(losses);
        float[] grad = read(tz);
        for (int r = 0; r < rows; r++) {
            int target = targets[targetOffset + r];
            double expected = 0;
            if (target >= 0) {
                double max = Double.NEGATIVE_INFINITY;
                for (int i = 0; i < vocab; i++) max = Math.max(max, logits[r * vocab + i]);
                double sum = 0;
                for (int i = 0; i < vocab; i++) sum += Math.exp(logits[r * vocab + i] - max);
                expected = max + Math.log(sum) - logits[r * vocab + target];
            }
            assertEquals(expected, loss[lossOffset + r], 1e-6 * (1 + expected), "loss of row " + r);
        }
        for (int i = 0; i < vocab; i++) assertEquals(0f, grad[2 * vocab + i], "ignored row's gradient");
        assertClose(check("cross-entropy dL/dlogits", logits, sample(logits.length, 120, random), H, x -> f.get(),
                grad), TOLERANCE);
    }
}
