package dev.jllama.model.backend;

/**
 * Attention of query rows against a key/value cache on host arrays: the arithmetic of
 * {@link Backend#attentionCached}. Scores of one query row over its whole prefix are kept (a decoding step has
 * one row and at most the context length of scores), then softmax with its maximum subtracted, in float with a
 * double-precision denominator.
 */
public final class CachedAttention {
    private CachedAttention() {}

    /**
     * Fills head {@code h} of every row of {@code out [rows, heads*headDim]}: row {@code r} (position
     * {@code start + r}) attends to cache positions {@code 0 .. start + r} of kv head {@code h / (heads / kvHeads)}.
     */
    public static void head(float[] out, float[] q, float[] kCache, float[] vCache,
                            int rows, int start, int heads, int kvHeads, int headDim, int h) {
        int qStride = heads * headDim, kvStride = kvHeads * headDim;
        int kvOffset = h / (heads / kvHeads) * headDim;
        float scale = (float) (1.0 / Math.sqrt(headDim));
        float[] scores = new float[start + rows];
        for (int r = 0; r < rows; r++) {
            int qAt = r * qStride + h * headDim;
            int keys = start + r + 1;
            float max = Float.NEGATIVE_INFINITY;
            for (int s = 0; s < keys; s++) {
                int kAt = s * kvStride + kvOffset;
                float dot = 0f;
                for (int d = 0; d < headDim; d++) dot += q[qAt + d] * kCache[kAt + d];
                scores[s] = dot * scale;
                max = Math.max(max, scores[s]);
            }
            double denom = 0;
            for (int s = 0; s < keys; s++) {
                scores[s] = (float) Math.exp(scores[s] - max);
                denom += scores[s];
            }
            float inv = (float) (1.0 / denom);
            java.util.Arrays.fill(out, qAt, qAt + headDim, 0f);
            for (int s = 0; s < keys; s++) {
                int vAt = s * kvStride + kvOffset;
                float p = scores[s] * inv;
                for (int d = 0; d < headDim; d++) out[qAt + d] += p * vCache[vAt + d];
            }
        }
    }
}
