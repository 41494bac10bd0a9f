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

    public AdamWStep withWeightDecay(float decay) {
        return new AdamWStep(lr, beta1, beta2, eps, decay, step, gradScale);
    }

    /** 1 - beta1^step: the first-moment bias correction. */
    public float biasCorrection1() {
        return (float) (1.0 - Math.pow(beta1, step));
    }

    /** 1 - beta2^step: the second-moment bias correction. */
    public float biasCorrection2() {
        return (float) (1.0 - Math.pow(beta2, step));
    }
}
