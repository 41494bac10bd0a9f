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
 * <p>In bf16 the caller passes Q, K, V (and dO) already rounded to bf16, and this rounds the fp32 probabilities and
 * score gradients to bf16 right before the products that take them, as a bf16 flash attention does: scores, the
 * softmax with its statistics, and every product's accumulation stay fp32.
 */
final class BlasAttention {
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    private static final int LANES = SPECIES.length();
    static final int QUERY_BLOCK = 64;

    /** Per-thread blocks of scores and of their gradients, {@code QUERY_BLOCK x seqLen}. */
    private static final class Scratch {
        float[] scores = new float[0];
        float[] gradients = new float[0];

        void ensure(int seqLen) {
            if (scores.length < QUERY_BLOCK * seqLen) {
                scores = new float[QUERY_BLOCK * seqLen];
                gradients = new float[QUERY_BLOCK * seqLen];
            }
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private final OpenBlas blas;
    private final Parallel parallel;
    /** Round probabilities and score gradients to bf16 before their products (bf16 mixed precision). */
    private final boolean bf16;

    BlasAttention(OpenBlas blas, Parallel parallel, boolean bf16) {
        this.blas = blas;
        this.parallel = parallel;
        this.bf16 = bf16;
    }

    /** {@code starts}: null, or per query row the first key position it may attend to (its example's start). */
    void forward(float[] out, float[] lse, float[] q, float[] k, float[] v, int[] starts,
                 int batch, int seqLen, int heads, int kvHeads, int headDim) {
        int group = heads / kvHeads;
        int qStride = heads * headDim;
        int kvStride = kvHeads * headDim;
        float scale = (float) (1.0 / Math.sqrt(headDim));
        parallel.forEach(batch * heads, task -> {
            int b = task / heads, h = task % heads;
            int kvAt = b * seqLen * kvStride + (h / group) * headDim;
            Scratch scratch = SCRATCH.get();
            scratch.ensure(seqLen);
            float[] s = scratch.scores;
            for (int t0 = 0; t0 < seqLen; t0 += QUERY_BLOCK) {
                int rows = Math.min(QUERY_BLOCK, seqLen - t0);
                int keys = t0 + rows; // causal: the block's last query sees keys [0, keys)
                int qAt = (b * seqLen + t0) * qStride + h * headDim;
                blas.sgemm(false, true, rows, keys, headDim, q, qAt, qStride, k, kvAt, kvStride, 0f, s, 0, keys);
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
                if (bf16) Bf16.round(s, 0, s, 0, rows * keys);
                blas.sgemm(false, false, rows, headDim, keys, s, 0, keys, v, kvAt, kvStride, 0f, out, qAt, qStride);
            }
        });
    }

    void backward(float[] dq, float[] dk, float[] dv, float[] dout, float[] out, float[] lse,
                  float[] q, float[] k, float[] v, int[] starts,
                  int batch, int seqLen, int heads, int kvHeads, int headDim) {
        int group = heads / kvHeads;
        int qStride = heads * headDim;
        int kvStride = kvHeads * headDim;
        float scale = (float) (1.0 / Math.sqrt(headDim));
        parallel.forEach(batch * kvHeads, task -> {
            int b = task / kvHeads, kvh = task % kvHeads;
            int kvAt = b * seqLen * kvStride + kvh * headDim;
            Scratch scratch = SCRATCH.get();
            scratch.ensure(seqLen);
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
                    blas.sgemm(false, true, rows, keys, headDim, q, qAt, qStride, k, kvAt, kvStride, 0f, p, 0, keys);
                    blas.sgemm(false, true, rows, keys, headDim, dout, qAt, qStride, v, kvAt, kvStride, 0f, ds, 0, keys);
                    for (int r = 0; r < rows; r++) {
                        int t = t0 + r;
                        int at = r * keys, valid = t + 1;
                        // D = dout . out equals sum_s p_s (dout . v_s), the softmax-Jacobian correction.
                        int rowAt = qAt + r * qStride;
                        float correction = VectorMath.dot(dout, rowAt, out, rowAt, headDim);
                        int lo = starts == null ? 0 : starts[b * seqLen + t];
                        probabilitiesAndScoreGradients(p, ds, at + lo, valid - lo, scale,
                                lse[(b * heads + h) * seqLen + t], correction);
                        java.util.Arrays.fill(p, at, at + lo, 0f);
                        java.util.Arrays.fill(ds, at, at + lo, 0f);
                        java.util.Arrays.fill(p, at + valid, at + keys, 0f);
                        java.util.Arrays.fill(ds, at + valid, at + keys, 0f);
                    }
                    if (bf16) {
                        Bf16.round(p, 0, p, 0, rows * keys);
                        Bf16.round(ds, 0, ds, 0, rows * keys);
                    }
                    // dQ = dS K, dK += dS^T Q, dV += P^T dO.
                    blas.sgemm(false, false, rows, headDim, keys, ds, 0, keys, k, kvAt, kvStride, 0f, dq, qAt, qStride);
                    blas.sgemm(true, false, keys, headDim, rows, ds, 0, keys, q, qAt, qStride, 1f, dk, kvAt, kvStride);
                    blas.sgemm(true, false, keys, headDim, rows, p, 0, keys, dout, qAt, qStride, 1f, dv, kvAt, kvStride);
                }
            }
        });
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
