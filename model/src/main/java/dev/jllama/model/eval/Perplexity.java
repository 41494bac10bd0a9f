package dev.jllama.model.eval;

import dev.jllama.model.LlamaModel;
import java.util.List;

/**
 * Perplexity and bits per byte of a model over a fixed list of windows, batched through the model's forward pass.
 * Bits per byte divides the summed loss (converted to bits) by the bytes of text the target tokens stand for, so it
 * compares models with different tokenizers.
 */
public final class Perplexity {
    private Perplexity() {}

    /**
     * @param windows windows scored (each {@code seqLen + 1} tokens)
     * @param tokens  target tokens scored
     * @param bytes   bytes of text those tokens decode to
     * @param nats    summed loss over them
     */
    public record Result(long windows, long tokens, long bytes, double nats) {
        public double meanLoss() {
            return nats / tokens;
        }

        public double perplexity() {
            return Math.exp(meanLoss());
        }

        public double bitsPerByte() {
            return nats / (Math.log(2) * bytes);
        }
    }

    /**
     * Scores every target of every window, {@code batch} windows per forward pass (the last batch padded with
     * rows without targets, so the model's buffers keep one shape).
     *
     * @param tokenBytes bytes of text each token id decodes to
     */
    public static Result evaluate(LlamaModel model, List<int[]> windows, int batch, int[] tokenBytes) {
        if (windows.isEmpty()) throw new IllegalArgumentException("no windows to evaluate");
        if (batch <= 0) throw new IllegalArgumentException("batch must be positive, got " + batch);
        int seqLen = windows.get(0).length - 1;
        int[] inputs = new int[batch * seqLen], targets = new int[batch * seqLen];
        float[] losses = new float[batch * seqLen];
        double nats = 0;
        long tokens = 0, bytes = 0;
        for (int first = 0; first < windows.size(); first += batch) {
            int rows = Math.min(batch, windows.size() - first);
            java.util.Arrays.fill(inputs, 0);
            java.util.Arrays.fill(targets, -1);
            for (int b = 0; b < rows; b++) {
                int[] w = windows.get(first + b);
                if (w.length != seqLen + 1) {
                    throw new IllegalArgumentException("window " + (first + b) + " has " + w.length
                            + " tokens, the first has " + (seqLen + 1));
                }
                System.arraycopy(w, 0, inputs, b * seqLen, seqLen);
                System.arraycopy(w, 1, targets, b * seqLen, seqLen);
            }
            model.tokenLosses(inputs, targets, batch, seqLen, losses);
            for (int r = 0; r < rows * seqLen; r++) {
                nats += losses[r];
                bytes += tokenBytes[targets[r]];
            }
            tokens += (long) rows * seqLen;
        }
        return new Result(windows.size(), tokens, bytes, nats);
    }
}
