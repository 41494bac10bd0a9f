package dev.jllama.model.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Memory-efficient causal attention on the CPU. Each query row walks the keys in blocks of {@value #KEY_BLOCK}
 * with an online softmax, keeping one block of scores; backward recomputes the probabilities from the saved
 * log-sum-exp. Keys and values of a head are first transposed to {@code [headDim, seqLen]} so that a block of
 * scores is a sequence of broadcast-multiply-adds across keys, with no horizontal reductions.
 *
 * <p>Tasks are (sequence, kv-head) pairs, which own disjoint rows of every output, so no two tasks write the same
 * element and results do not depend on the thread count.
 */
final class CpuAttention {
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    private static final int LANES = SPECIES.length();
    /** A multiple of four vectors of every width (4 to 16 lanes): {@link #blockDots} fills it four vectors at a time. */
    static final int KEY_BLOCK = 64;

    private static final class Scratch {
        final float[] scores = new float[KEY_BLOCK];
        final float[] probs = new float[KEY_BLOCK];
        float[] acc = new float[0];
        float[] keysT = new float[0];
        float[] valuesT = new float[0];

        void ensure(int headDim, int seqLen) {
            if (acc.length < headDim) acc = new float[headDim];
            int padded = headDim * roundUp(seqLen);
            if (keysT.length < padded) {
                keysT = new float[padded];
                valuesT = new float[padded];
            }
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private final Parallel parallel;

    CpuAttention(Parallel parallel) {
        this.parallel = parallel;
    }

    private static int roundUp(int seqLen) {
        return (seqLen + KEY_BLOCK - 1) / KEY_BLOCK * KEY_BLOCK;
    }

    /** {@code dst[d * stride + s] = src[(b*seqLen + s) * rowStride + offset + d]}, zero-padded to whole key blocks. */
    private static void transpose(float[] src, int b, int seqLen, int rowStride, int offset, int headDim, float[] dst) {
        int stride = roundUp(seqLen);
        for (int s = 0; s < stride; s++) {
            int at = (b * seqLen + s) * rowStride + offset;
            for (int d = 0; d < headDim; d++) dst[d * stride + s] = s < seqLen ? src[at + d] : 0f;
        }
    }

    /**
     * scores[j] = sum_d row[rowAt + d] * colsT[d * stride + s0 + j] for a whole key block, four vectors of keys at a
     * time: one pass with 16 lanes (AVX-512), two with 8 (AVX2), four with 4 (NEON, SSE).
     */
    private static void blockDots(float[] row, int rowAt, float[] colsT, int stride, int s0, int headDim, float[] scores) {
        for (int j0 = 0; j0 < KEY_BLOCK; j0 += 4 * LANES) {
            FloatVector a0 = FloatVector.zero(SPECIES), a1 = FloatVector.zero(SPECIES);
            FloatVector a2 = FloatVector.zero(SPECIES), a3 = FloatVector.zero(SPECIES);
            for (int d = 0; d < headDim; d++) {
                FloatVector q = FloatVector.broadcast(SPECIES, row[rowAt + d]);
                int at = d * stride + s0 + j0;
                a0 = FloatVector.fromArray(SPECIES, colsT, at).fma(q, a0);
                a1 = FloatVector.fromArray(SPECIES, colsT, at + LANES).fma(q, a1);
                a2 = FloatVector.fromArray(SPECIES, colsT, at + 2 * LANES).fma(q, a2);
                a3 = FloatVector.fromArray(SPECIES, colsT, at + 3 * LANES).fma(q, a3);
            }
            a0.intoArray(scores, j0);
            a1.intoArray(scores, j0 + LANES);
            a2.intoArray(scores, j0 + 2 * LANES);
            a3.intoArray(scores, j0 + 3 * LANES);
        }
    }

    /** {@code scores[j] = exp(scores[j] - shift)} for {@code j < valid}, in vector lanes (the same bits as scalar). */
    private static void expShifted(float[] scores, float shift, int valid) {
        int j = 0;
        for (int bound = SPECIES.loopBound(valid); j < bound; j += LANES) {
            VectorMath.exp(FloatVector.fromArray(SPECIES, scores, j).sub(shift)).intoArray(scores, j);
        }
        for (; j < valid; j++) scores[j] = VectorMath.exp(scores[j] - shift);
    }

    /**
     * For {@code j < valid}: {@code probs[j] = p = exp(probs[j] * scale - lse)} and
     * {@code dProbs[j] = p * (dProbs[j] - correction) * scale}, the score gradient; in vector lanes with the scalar
     * formula's operations and order, so the bits are the scalar ones.
     */
    private static void probabilitiesAndScoreGradients(float[] probs, float[] dProbs, float scale, float lse,
                                                       float correction, int valid) {
        int j = 0;
        for (int bound = SPECIES.loopBound(valid); j < bound; j += LANES) {
            FloatVector p = VectorMath.exp(FloatVector.fromArray(SPECIES, probs, j).mul(scale).sub(lse));
            p.intoArray(probs, j);
            p.mul(FloatVector.fromArray(SPECIES, dProbs, j).sub(correction)).mul(scale).intoArray(dProbs, j);
        }
        for (; j < valid; j++) {
            float p = VectorMath.exp(probs[j] * scale - lse);
            probs[j] = p;
            dProbs[j] = p * (dProbs[j] - correction) * scale;
        }
    }

    /** {@code starts}: null, or per query row the first key position it may attend to (its example's start). */
    void forward(float[] out, float[] lse, float[] q, float[] k, float[] v, int[] starts,
                 int batch, int seqLen, int heads, int kvHeads, int headDim) {
        int group = heads / kvHeads;
        int qStride = heads * headDim;
        int kvStride = kvHeads * headDim;
        int stride = roundUp(seqLen);
        float scale = (float) (1.0 / Math.sqrt(headDim));
        parallel.forEach(batch * kvHeads, task -> {
            int b = task / kvHeads;
            int kvh = task % kvHeads;
            Scratch scratch = SCRATCH.get();
            scratch.ensure(headDim, seqLen);
            float[] scores = scratch.scores, acc = scratch.acc, keysT = scratch.keysT;
            transpose(k, b, seqLen, kvStride, kvh * headDim, headDim, keysT);
            for (int h = kvh * group; h < (kvh + 1) * group; h++) {
                for (int t = 0; t < seqLen; t++) {
                    int qAt = (b * seqLen + t) * qStride + h * headDim;
                    float max = Float.NEGATIVE_INFINITY;
                    float denom = 0f;
                    java.util.Arrays.fill(acc, 0, headDim, 0f);
                    int lo = starts == null ? 0 : starts[b * seqLen + t];
                    for (int s0 = lo / KEY_BLOCK * KEY_BLOCK; s0 <= t; s0 += KEY_BLOCK) {
                        int valid = Math.min(t + 1 - s0, KEY_BLOCK);
                        int first = Math.max(0, lo - s0); // keys before the example's start are left out
                        blockDots(q, qAt, keysT, stride, s0, headDim, scores);
                        float blockMax = Float.NEGATIVE_INFINITY;
                        for (int j = first; j < valid; j++) {
                            scores[j] *= scale;
                            blockMax = Math.max(blockMax, scores[j]);
                        }
                        float newMax = Math.max(max, blockMax);
                        float rescale = VectorMath.exp(max - newMax);
                        denom *= rescale;
                        for (int d = 0; d < headDim; d++) acc[d] *= rescale;
                        expShifted(scores, newMax, valid);
                        for (int j = first; j < valid; j++) {
                            float p = scores[j];
                            denom += p;
                            VectorMath.axpy(p, v, (b * seqLen + s0 + j) * kvStride + kvh * headDim, acc, 0, headDim);
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
                  float[] q, float[] k, float[] v, int[] starts,
                  int batch, int seqLen, int heads, int kvHeads, int headDim) {
        int group = heads / kvHeads;
        int qStride = heads * headDim;
        int kvStride = kvHeads * headDim;
        int stride = roundUp(seqLen);
        float scale = (float) (1.0 / Math.sqrt(headDim));
        parallel.forEach(batch * kvHeads, task -> {
            int b = task / kvHeads;
            int kvh = task % kvHeads;
            Scratch scratch = SCRATCH.get();
            scratch.ensure(headDim, seqLen);
            float[] probs = scratch.probs, dProbs = scratch.scores, keysT = scratch.keysT, valuesT = scratch.valuesT;
            transpose(k, b, seqLen, kvStride, kvh * headDim, headDim, keysT);
            transpose(v, b, seqLen, kvStride, kvh * headDim, headDim, valuesT);
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
                    float correction = VectorMath.dot(dout, qAt, out, qAt, headDim);
                    java.util.Arrays.fill(dq, qAt, qAt + headDim, 0f);
                    int lo = starts == null ? 0 : starts[b * seqLen + t];
                    for (int s0 = lo / KEY_BLOCK * KEY_BLOCK; s0 <= t; s0 += KEY_BLOCK) {
                        int valid = Math.min(t + 1 - s0, KEY_BLOCK);
                        int first = Math.max(0, lo - s0); // keys before the example's start are left out
                        blockDots(q, qAt, keysT, stride, s0, headDim, probs);
                        blockDots(dout, qAt, valuesT, stride, s0, headDim, dProbs);
                        probabilitiesAndScoreGradients(probs, dProbs, scale, rowLse, correction, valid);
                        for (int j = first; j < valid; j++) {
                            int kAt = (b * seqLen + s0 + j) * kvStride + kvh * headDim;
                            float p = probs[j];
                            float dScore = dProbs[j];
                            VectorMath.axpy(p, dout, qAt, dv, kAt, headDim);
                            VectorMath.axpy(dScore, k, kAt, dq, qAt, headDim);
                            VectorMath.axpy(dScore, q, qAt, dk, kAt, headDim);
                        }
                    }
                }
            }
        });
    }
}
