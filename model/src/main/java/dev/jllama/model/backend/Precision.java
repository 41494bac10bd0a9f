package dev.jllama.model.backend;

import java.util.Locale;

/**
 * The number format of a backend's matrix-product operands. Whatever it is, master weights, gradients, their
 * all-reduce, AdamW's state, RMSNorm and softmax statistics stay fp32, and checkpoints are fp32 either way.
 */
public enum Precision {
    /** fp32 operands, fp32 accumulation. */
    FP32,
    /**
     * bf16 mixed precision: each product's operands rounded to bfloat16 (round to nearest, ties to even), products
     * accumulated and written in fp32.
     */
    BF16;

    /** The command line's spelling: {@code fp32}, {@code bf16}. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** {@code fp32} or {@code bf16}, in any case. */
    public static Precision parse(String text) {
        for (Precision p : values()) {
            if (p.label().equalsIgnoreCase(text)) return p;
        }
        throw new IllegalArgumentException("precision must be fp32 or bf16, got '" + text + "'");
    }
}
