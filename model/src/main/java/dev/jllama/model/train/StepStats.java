package dev.jllama.model.train;

/**
 * What one optimizer step did.
 *
 * @param step        1-based step just completed
 * @param loss        mean cross-entropy over the step's tokens
 * @param lr          learning rate used
 * @param gradNorm    global gradient norm before clipping
 * @param tokensPerS  training throughput of this step
 */
public record StepStats(int step, double loss, double lr, double gradNorm, double tokensPerS, double seconds) {}
