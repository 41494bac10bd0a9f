package dev.jllama.model.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Causal attention on OpenBLAS, one block of {@value #QUERY_BLOCK} queries at a time: the block's scores against its
 * keys ({@code 64 x keys}, never {@code T x T}) are one {@code sgemm}, the softmax runs over that block in vector
 * lanes, and the products with V (and, backward, the gradients of Q, K and V) are {@code sgemm}s again, reading the
 * heads in place through OpenBLAS's leading dimensions.
 *
 * <p>Forward tasks are (sequence, head) pairs and backward tasks (sequence, kv-head) pairs, which own disjoint outputs;
 * OpenBLAS runs single-threaded inside a task and each task's work does not depend on the thread count, so the
 * results do not either.
 *
 * <p>In bf16 the caller passes Q, K, V (and dO) already converted, and this converts the fp32 probabilities and
 * score gradients to bf16 right before the products that take them, as a bf16 flash attention does: scores, the
 * softmax with its statistics, and every product's accumulation stay fp32. On {@code sbgemm} the operands are bf16
 * bits ({@code short[]}) and every product is an {@code sbgemm}; without it they are bf16 values rounded into fp32
 * arrays and the products are {@code sgemm}s, which compute the same products (a product of two bf16 numbers is
 * exact in fp32).
 */
final class BlasAttention {
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    private static final int LANES = SPECIES.length();
    static final int QUERY_BLOCK = 64;

    /** Per-thread blocks of scores and of their gradients, {@code QUERY_BLOCK x seqLen}, and their bf16 bits. */
    private static final class Scratch {
        float[] scores = new float[0];
        float[] gradients = new float[0];
        short[] scoreBits = new short[0];
        short[] gradientBits = new short[0];

        void ensure(int seqLen, boolean bits) {
            if (scores.length < QUERY_BLOCK * seqLen) {
                scores = new float[QUERY_BLOCK * seqLen];
                gradients = new float[QUERY_BLOCK * seqLen];
            }
            if (bits && scoreBits.length < QUERY_BLOCK * seqLen) {
                scoreBits = new short[QUERY_BLOCK * seqLen];
                gradientBits = new short[QUERY_BLOCK * seqLen];
            }
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private final OpenBlas blas;
    private final Parallel parallel;
    /** Round probabilities and score gradients to bf16 before their products (bf16 mixed precision). */
    private final boolean bf16;
    /** In bf16: the products are {@code sbgemm}s on bf16 bits. */
    private final boolean sbgemm;

    /** fp32 attention, or bf16 on {@code sgemm} with rounded operands. */
    BlasAttention(OpenBlas blas, Parallel parallel, boolean bf16) {
        this(blas, parallel, bf16, false);
    }

    private BlasAttention(OpenBlas blas, Parallel parallel, boolean bf16, boolean sbgemm) {
        this.blas = blas;
        this.parallel = parallel;
        this.bf16 = bf16;
        this.sbgemm = sbgemm;
    }

    /** bf16 attention whose products are {@code sbgemm}s: {@code blas} must have it. */
    static BlasAttention onSbgemm(OpenBlas blas, Parallel parallel) {
        if (!blas.hasSbgemm()) throw new IllegalArgumentException(blas.describe() + " has no sbgemm");
        return new BlasAttention(blas, parallel, true, true);
    }

    /** Whether the operands are bf16 bits ({@code short[]}); else fp32 arrays (rounded to bf16 values in bf16). */
    boolean takesBits() {
        return sbgemm;
    }

    /**
     * {@code starts}: null, or per query row the first key position it may attend to (its example's start).
     * {@code q}, {@code k}, {@code v}: {@code short[]} bf16 bits where {@link #takesBits()}, else {@code float[]}.
     */
    void forward(float[] out, float[] lse, Object q, Object k, Object v, int[] starts,
                 int batch, int seqLen, int heads, int kvHeads, int headDim) {
        int group = heads / kvHeads;
        int qStride = heads * headDim;
        int kvStride = kvHeads * headDim;
        float scale = (float) (1.0 / Math.sqrt(headDim));
        parallel.forEach(batch * heads, task -> {
            int b = task / heads, h = task % heads;
            int kvAt = b * seqLen * kvStride + (h / group) * headDim;
            Scratch scratch = SCRATCH.get();
            scratch.ensure(seqLen, sbgemm);
            float[] s = scratch.scores;
            for (int t0 = 0; t0 < seqLen; t0 += QUERY_BLOCK) {
                int rows = Math.min(QUERY_BLOCK, seqLen - t0);
                int keys = t0 + rows; // causal: the block's last query sees keys [0, keys)
                int qAt = (b * seqLen + t0) * qStride + h * headDim;
                product(false, true, rows, keys, headDim, q, qAt, qStride, k, kvAt, kvStride, 0f, s, 0, keys);
                for (int r = 0; r < rows; r++) {
                    int t = t0 + r;
                    int at = r * keys, valid = t + 1;
                    int lo = starts == null ? 0 : starts[b * seqLen + t];
                    float max = scaledMax(s, at + lo, valid - lo, scale);
                    float sum = expScaledShifted(s, at + lo, valid - lo, scale, max);
                    scaleRange(s, at + lo, valid - lo, 1f / sum);
                    java.util.Arrays.fill(s, at, at + lo, 0f);
                    java.util.Arrays.fill(s, at + valid, at + keys, 0f);
                    lse[(b * heads + h) * seqLen + t] = max + (float) Math.log(sum);
                }
                Object p = operand(s, scratch.scoreBits, rows * keys);
                product(false, false, rows, headDim, keys, p, 0, keys, v, kvAt, kvStride, 0f, out, qAt, qStride);
            }
        });
    }

    /**
     * {@code dout}, {@code q}, {@code k}, {@code v} as in {@link #forward}; {@code doutValues}: dO as fp32 values (in
     * bf16 rounded, the same values as {@code dout}), for the softmax-Jacobian correction {@code dO . O}.
     */
    void backward(float[] dq, float[] dk, float[] dv, Object dout, float[] doutValues, float[] out, float[] lse,
                  Object q, Object k, Object v, int[] starts,
                  int batch, int seqLen, int heads, int kvHeads, int headDim) {
        int group = heads / kvHeads;
        int qStride = heads * headDim;
        int kvStride = kvHeads * headDim;
        float scale = (float) (1.0 / Math.sqrt(headDim));
        parallel.forEach(batch * kvHeads, task -> {
            int b = task / kvHeads, kvh = task % kvHeads;
            int kvAt = b * seqLen * kvStride + kvh * headDim;
            Scratch scratch = SCRATCH.get();
            scratch.ensure(seqLen, sbgemm);
            float[] p = scratch.scores, ds = scratch.gradients;
            for (int s = 0; s < seqLen; s++) {
                java.util.Arrays.fill(dk, kvAt + s * kvStride, kvAt + s * kvStride + headDim, 0f);
                java.util.Arrays.fill(dv, kvAt + s * kvStride, kvAt + s * kvStride + headDim, 0f);
            }
            for (int h = kvh * group; h < (kvh + 1) * group; h++) {
                for (int t0 = 0; t0 < seqLen; t0 += QUERY_BLOCK) {
                    int rows = Math.min(QUERY_BLOCK, seqLen - t0);
                    int keys = t0 + rows;
                    int qAt = (b * seqLen + t0) * qStride + h * headDim;
                    product(false, true, rows, keys, headDim, q, qAt, qStride, k, kvAt, kvStride, 0f, p, 0, keys);
                    product(false, true, rows, keys, headDim, dout, qAt, qStride, v, kvAt, kvStride, 0f, ds, 0, keys);
                    for (int r = 0; r < rows; r++) {
                        int t = t0 + r;
                        int at = r * keys, valid = t + 1;
                        // D = dout . out equals sum_s p_s (dout . v_s), the softmax-Jacobian correction.
                        int rowAt = qAt + r * qStride;
                        float correction = VectorMath.dot(doutValues, rowAt, out, rowAt, headDim);
                        int lo = starts == null ? 0 : starts[b * seqLen + t];
                        probabilitiesAndScoreGradients(p, ds, at + lo, valid - lo, scale,
                                lse[(b * heads + h) * seqLen + t], correction);
                        java.util.Arrays.fill(p, at, at + lo, 0f);
                        java.util.Arrays.fill(ds, at, at + lo, 0f);
                        java.util.Arrays.fill(p, at + valid, at + keys, 0f);
                        java.util.Arrays.fill(ds, at + valid, at + keys, 0f);
                    }
                    Object pb = operand(p, scratch.scoreBits, rows * keys);
                    Object dsb = operand(ds, scratch.gradientBits, rows * keys);
                    // dQ = dS K, dK += dS^T Q, dV += P^T dO.
                    product(false, false, rows, headDim, keys, dsb, 0, keys, k, kvAt, kvStride, 0f, dq, qAt, qStride);
                    product(true, false, keys, headDim, rows, dsb, 0, keys, q, qAt, qStride, 1f, dk, kvAt, kvStride);
                    product(true, false, keys, headDim, rows, pb, 0, keys, dout, qAt, qStride, 1f, dv, kvAt, kvStride);
                }
            }
        });
    }

    /**
     * The first {@code n} values of a block of probabilities or score gradients as the next product takes them: as is
     * in fp32, rounded in place in bf16, converted into {@code bits} on sbgemm.
     */
    private Object operand(float[] values, short[] bits, int n) {
        if (sbgemm) {
            Bf16.toBits(values, 0, bits, 0, n);
            return bits;
        }
        if (bf16) Bf16.round(values, 0, values, 0, n);
        return values;
    }

    /** {@code C = A B + beta C} (either operand transposed): an sbgemm on bf16 bits, else an sgemm. */
    private void product(boolean transA, boolean transB, int m, int n, int k, Object a, int aAt, int lda,
                         Object b, int bAt, int ldb, float beta, float[] c, int cAt, int ldc) {
        if (sbgemm) {
            blas.sbgemm(transA, transB, m, n, k, (short[]) a, aAt, lda, (short[]) b, bAt, ldb, beta, c, cAt, ldc);
        } else {
            blas.sgemm(transA, transB, m, n, k, (float[]) a, aAt, lda, (float[]) b, bAt, ldb, beta, c, cAt, ldc);
        }
    }

    /** The largest {@code a[at + j] * scale} for {@code j < n} (max is exact, so lane order does not matter). */
    private static float scaledMax(float[] a, int at, int n, float scale) {
        int j = 0;
        FloatVector m = FloatVector.broadcast(SPECIES, Float.NEGATIVE_INFINITY);
        for (int bound = SPECIES.loopBound(n); j < bound; j += LANES) {
            m = m.max(FloatVector.fromArray(SPECIES, a, at + j).mul(scale));
        }
        float max = m.reduceLanes(VectorOperators.MAX);
        for (; j < n; j++) max = Math.max(max, a[at + j] * scale);
        return max;
    }

    /** {@code a[at + j] = exp(a[at + j] * scale - shift)} for {@code j < n}; returns their sum, in a fixed order. */
    private static float expScaledShifted(float[] a, int at, int n, float scale, float shift) {
        int j = 0;
        FloatVector sum = FloatVector.zero(SPECIES);
        for (int bound = SPECIES.loopBound(n); j < bound; j += LANES) {
            FloatVector e = VectorMath.exp(FloatVector.fromArray(SPECIES, a, at + j).mul(scale).sub(shift));
            e.intoArray(a, at + j);
            sum = sum.add(e);
        }
        float total = VectorMath.sumLanes(sum);
        for (; j < n; j++) {
            float e = VectorMath.exp(a[at + j] * scale - shift);
            a[at + j] = e;
            total += e;
        }
        return total;
    }

    private static void scaleRange(float[] a, int at, int n, float factor) {
        int j = 0;
        for (int bound = SPECIES.loopBound(n); j < bound; j += LANES) {
            FloatVector.fromArray(SPECIES, a, at + j).mul(factor).intoArray(a, at + j);
        }
        for (; j < n; j++) a[at + j] *= factor;
    }

    /**
     * For {@code j < n}: {@code p[at + j] = exp(p[at + j] * scale - lse)} (the probability, from the scores) and
     * {@code ds[at + j] = p (ds[at + j] - correction) scale} (the score gradient, from {@code dout . v}).
     */
    private static void probabilitiesAndScoreGradients(float[] p, float[] ds, int at, int n, float scale, float lse,
                                                       float correction) {
        int j = 0;
        for (int bound = SPECIES.loopBound(n); j < bound; j += LANES) {
            FloatVector e = VectorMath.exp(FloatVector.fromArray(SPECIES, p, at + j).mul(scale).sub(lse));
            e.intoArray(p, at + j);
            e.mul(FloatVector.fromArray(SPECIES, ds, at + j).sub(correction)).mul(scale).intoArray(ds, at + j);
        }
        for (; j < n; j++) {
            float e = VectorMath.exp(p[at + j] * scale - lse);
            p[at + j] = e;
            ds[at + j] = e * (ds[at + j] - correction) * scale;
        }
    }
}
