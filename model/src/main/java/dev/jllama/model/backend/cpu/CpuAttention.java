package dev.jllama.model.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Memory-efficient causal attention on the CPU: each query row walks the keys in blocks with an online softmax,
 * keeping only a block of scores; backward recomputes the probabilities from the saved log-sum-exp. Tasks are
 * (sequence, kv-head) pairs, which own disjoint rows of every output, so no two tasks write the same element.
 */
final class CpuAttention {
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    private static final int KEY_BLOCK = 64;

    private static final class Scratch {
        float[] scores = new float[KEY_BLOCK];
        float[] acc = new float[0];

        float[] acc(int n) {
            if (acc.length < n) acc = new float[n];
            return acc;
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private final Parallel parallel;

    CpuAttention(Parallel parallel) {
        this.parallel = parallel;
    }

    void forward(float[] out, float[] lse, float[] q, float[] k, float[] v,
                 int batch, int seqLen, int heads, int kvHeads, int headDim) {
        int group = heads / kvHeads;
        int qStride = heads * headDim;
        int kvStride = kvHeads * headDim;
        float scale = (float) (1.0 / Math.sqrt(headDim));
        parallel.forEach(batch * kvHeads, task -> {
            int b = task / kvHeads;
            int kvh = task % kvHeads;
            Scratch scratch = SCRATCH.get();
            float[] scores = scratch.scores;
            float[] acc = scratch.acc(headDim);
            for (int h = kvh * group; h < (kvh + 1) * group; h++) {
                for (int t = 0; t < seqLen; t++) {
                    int qAt = (b * seqLen + t) * qStride + h * headDim;
                    float max = Float.NEGATIVE_INFINITY;
                    float denom = 0f;
                    java.util.Arrays.fill(acc, 0, headDim, 0f);
                    for (int s0 = 0; s0 <= t; s0 += KEY_BLOCK) {
                        int s1 = Math.min(t + 1, s0 + KEY_BLOCK);
                        float blockMax = Float.NEGATIVE_INFINITY;
                        for (int s = s0; s < s1; s++) {
                            int kAt = (b * seqLen + s) * kvStride + kvh * headDim;
                            float score = dot(q, qAt, k, kAt, headDim) * scale;
                            scores[s - s0] = score;
                            blockMax = Math.max(blockMax, score);
                        }
                        float newMax = Math.max(max, blockMax);
                        float rescale = (float) Math.exp(max - newMax);
                        denom *= rescale;
                        scaleInPlace(acc, headDim, rescale);
                        for (int s = s0; s < s1; s++) {
                            float p = (float) Math.exp(scores[s - s0] - newMax);
                            denom += p;
                            axpy(p, v, (b * seqLen + s) * kvStride + kvh * headDim, acc, 0, headDim);
                        }
                        max = newMax;
                    }
                    int oAt = (b * seqLen + t) * qStride + h * headDim;
                    float inv = 1f / denom;
                    for (int d = 0; d < headDim; d++) out[oAt + d] = acc[d] * inv;
                    lse[(b * heads + h) * seqLen + t] = max + (float) Math.log(denom);
                }
            }
        });
    }

    void backward(float[] dq, float[] dk, float[] dv, float[] dout, float[] out, float[] lse,
                  float[] q, float[] k, float[] v,
                  int batch, int seqLen, int heads, int kvHeads, int headDim) {
        int group = heads / kvHeads;
        int qStride = heads * headDim;
        int kvStride = kvHeads * headDim;
        float scale = (float) (1.0 / Math.sqrt(headDim));
        parallel.forEach(batch * kvHeads, task -> {
            int b = task / kvHeads;
            int kvh = task % kvHeads;
            for (int s = 0; s < seqLen; s++) {
                int kAt = (b * seqLen + s) * kvStride + kvh * headDim;
                java.util.Arrays.fill(dk, kAt, kAt + headDim, 0f);
                java.util.Arrays.fill(dv, kAt, kAt + headDim, 0f);
            }
            for (int h = kvh * group; h < (kvh + 1) * group; h++) {
                for (int t = 0; t < seqLen; t++) {
                    int qAt = (b * seqLen + t) * qStride + h * headDim;
                    float rowLse = lse[(b * heads + h) * seqLen + t];
                    // D = dout . out equals sum_s p_s (dout . v_s), the softmax-Jacobian correction.
                    float correction = dot(dout, qAt, out, qAt, headDim);
                    java.util.Arrays.fill(dq, qAt, qAt + headDim, 0f);
                    for (int s = 0; s <= t; s++) {
                        int kAt = (b * seqLen + s) * kvStride + kvh * headDim;
                        float p = (float) Math.exp(dot(q, qAt, k, kAt, headDim) * scale - rowLse);
                        axpy(p, dout, qAt, dv, kAt, headDim);
                        float dScore = p * (dot(dout, qAt, v, kAt, headDim) - correction) * scale;
                        axpy(dScore, k, kAt, dq, qAt, headDim);
                        axpy(dScore, q, qAt, dk, kAt, headDim);
                    }
                }
            }
        });
    }

    static float dot(float[] a, int aAt, float[] b, int bAt, int n) {
        int i = 0;
        FloatVector sum = FloatVector.zero(SPECIES);
        for (int bound = SPECIES.loopBound(n); i < bound; i += SPECIES.length()) {
            sum = FloatVector.fromArray(SPECIES, a, aAt + i).fma(FloatVector.fromArray(SPECIES, b, bAt + i), sum);
        }
        float result = sumLanes(sum);
        for (; i < n; i++) result += a[aAt + i] * b[bAt + i];
        return result;
    }

    /**
     * Sum of the lanes in a fixed order. {@code reduceLanes(ADD)} may add in a different order in interpreted and
     * JIT-compiled code, which would make results depend on warm-up; this keeps every run bit-identical.
     */
    static float sumLanes(FloatVector v) {
        float result = 0f;
        for (int lane = 0; lane < SPECIES.length(); lane++) result += v.lane(lane);
        return result;
    }

    /** y += alpha * x. */
    static void axpy(float alpha, float[] x, int xAt, float[] y, int yAt, int n) {
        int i = 0;
        FloatVector a = FloatVector.broadcast(SPECIES, alpha);
        for (int bound = SPECIES.loopBound(n); i < bound; i += SPECIES.length()) {
            FloatVector.fromArray(SPECIES, x, xAt + i).fma(a, FloatVector.fromArray(SPECIES, y, yAt + i))
                    .intoArray(y, yAt + i);
        }
        for (; i < n; i++) y[yAt + i] += alpha * x[xAt + i];
    }

    private static void scaleInPlace(float[] x, int n, float factor) {
        for (int i = 0; i < n; i++) x[i] *= factor;
    }
}
