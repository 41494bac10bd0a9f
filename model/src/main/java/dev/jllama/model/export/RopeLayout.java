package dev.jllama.model.export;

/**
 * The two orders of a query or key projection's rows. Ours is Meta's: within each head, rows {@code 2j} and
 * {@code 2j+1} are the pair that RoPE rotates by frequency {@code j}. Hugging Face's {@code LlamaForCausalLM}
 * rotates halves ({@code rotate_half}): rows {@code j} and {@code j + headDim/2} form the pair. Reordering the rows
 * of Wq and Wk turns one model into the other exactly (transformers' {@code convert_llama_weights_to_hf.py} does the
 * same); llama.cpp's GGUF keeps Meta's order.
 */
public final class RopeLayout {
    private RopeLayout() {}

    /** Rows of {@code w [heads*headDim, cols]} from Meta's interleaved pairs to Hugging Face's halves. */
    public static float[] interleavedToHalves(float[] w, int heads, int headDim, int cols) {
        return permute(w, heads, headDim, cols, true);
    }

    /** The inverse of {@link #interleavedToHalves}. */
    public static float[] halvesToInterleaved(float[] w, int heads, int headDim, int cols) {
        return permute(w, heads, headDim, cols, false);
    }

    private static float[] permute(float[] w, int heads, int headDim, int cols, boolean toHalves) {
        if (w.length != (long) heads * headDim * cols) {
            throw new IllegalArgumentException("a [" + heads + " heads x " + headDim + ", " + cols + "] projection has "
                    + (long) heads * headDim * cols + " values, got " + w.length);
        }
        int half = headDim / 2;
        float[] out = new float[w.length];
        for (int h = 0; h < heads; h++) {
            for (int j = 0; j < half; j++) {
                for (int s = 0; s < 2; s++) {
                    int interleaved = h * headDim + 2 * j + s;
                    int halves = h * headDim + s * half + j;
                    int from = toHalves ? interleaved : halves;
                    int to = toHalves ? halves : interleaved;
                    System.arraycopy(w, from * cols, out, to * cols, cols);
                }
            }
        }
        return out;
    }
}
