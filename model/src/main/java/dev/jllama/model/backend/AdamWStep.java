package dev.jllama.model.backend;

/**
 * The scalars of one AdamW update, shared by every parameter tensor of a step.
 *
 * @param lr            learning rate of this step (after warm-up / cosine schedule)
 * @param beta1         first-moment decay
 * @param beta2         second-moment decay
 * @param eps           denominator epsilon
 * @param weightDecay   decoupled weight decay for this tensor (0 for norm gains)
 * @param step          1-based step count, for bias correction
 * @param gradScale     factor applied to the gradient first (global-norm clipping)
 */
public record AdamWStep(float lr, float beta1, float beta2, float eps, float weightDecay, int step, float gradScale) {

    /** 1 - beta1^step: the first-moment bias correction. */
    public float biasCorrection1() {
        return (float) (1.0 - Math.pow(beta1, step));
    }

    /** 1 - beta2^step: the second-moment bias correction. */
    public float biasCorrection2() {
        return (float) (1.0 - Math.pow(beta2, step));
    }

    /**
     * The update itself, element by element: {@code param[paramOffset + i]} from {@code grad[paramOffset + i]} with
     * moments {@code m, v [momentOffset + i]}, for {@code i < length}. Every backend on the host runs this loop, so
     * an update gives the same bits whichever way the elements are split between calls.
     */
    public void apply(float[] param, float[] grad, int paramOffset, float[] m, float[] v, int momentOffset, int length) {
        float b1 = beta1, b2 = beta2, decay = 1f - lr * weightDecay;
        float bc1 = biasCorrection1(), bc2Sqrt = (float) Math.sqrt(biasCorrection2());
        for (int i = 0; i < length; i++) {
            int p = paramOffset + i, k = momentOffset + i;
            float gi = grad[p] * gradScale;
            float mi = b1 * m[k] + (1f - b1) * gi;
            float vi = b2 * v[k] + (1f - b2) * gi * gi;
            m[k] = mi;
            v[k] = vi;
            param[p] = param[p] * decay - lr * (mi / bc1) / ((float) Math.sqrt(vi) / bc2Sqrt + eps);
        }
    }
}
