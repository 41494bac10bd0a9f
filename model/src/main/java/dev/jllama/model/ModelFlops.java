package dev.jllama.model;

/**
 * The FLOPs a training step spends on the model itself, the numerator of MFU (model FLOPs utilisation, as the PaLM
 * paper defines it in its appendix B): what the model needs, whatever the implementation recomputes or wastes.
 *
 * <p>Per token of a {@code seqLen}-token window: {@code 6 × matrix parameters} (each weight multiplies the token
 * once in the forward pass, 2 FLOPs per multiply-add, and twice as much in the backward pass: gradients of the
 * input and of the weight) plus {@code 6 × layers × seqLen × dim} for attention's two products (scores {@code QKᵀ}
 * and {@code softmax·V}, each {@code 2 × seqLen × dim} per token and layer in the forward pass, times 3 with the
 * backward, halved because the mask is causal).
 *
 * <p>The matrix parameters are the seven matrices of every block ({@code wq, wk, wv, wo, w1, w2, w3}) and the LM
 * head; norm gains are not matrices. The token embedding is a table lookup, no product: it counts only as the LM
 * head, once, when the two are tied, and not at all when they are not. Selective recomputation's extra forward
 * work is not counted: MFU measures the model's FLOPs, not the hardware's.
 */
public final class ModelFlops {
    private ModelFlops() {}

    /** Elements of the weight matrices a token is multiplied by: the blocks' seven and the LM head. */
    public static long matrixParameters(LlamaConfig c) {
        long d = c.dim();
        long attention = 2 * d * d + 2 * d * c.kvDim(); // wq, wo; wk, wv (narrower under grouped-query attention)
        long feedForward = 3 * d * c.hiddenDim();     // w1, w3 up, w2 down
        return c.layers() * (attention + feedForward) + (long) c.vocabSize() * d;
    }

    /** Model FLOPs of training (forward and backward) per token of {@code seqLen}-token windows. */
    public static double perToken(LlamaConfig c, int seqLen) {
        return 6.0 * matrixParameters(c) + 6.0 * c.layers() * seqLen * c.dim();
    }

    /**
     * Model FLOPs utilisation: the model FLOPs per second achieved over the FLOP/s the hardware could reach.
     *
     * @param tokensPerS     training tokens per second of all ranks together
     * @param worldPeakFlops peak FLOP/s of all ranks together (each rank's backend's peak, summed)
     */
    public static double utilisation(double flopsPerToken, double tokensPerS, double worldPeakFlops) {
        if (!(worldPeakFlops > 0)) throw new IllegalArgumentException("peak FLOP/s must be positive: " + worldPeakFlops);
        return flopsPerToken * tokensPerS / worldPeakFlops;
    }
}
