package dev.jllama.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

import dev.jllama.model.backend.cpu.CpuBackend;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Passes of another shape with the same row count reuse the activation buffers: the losses are those of a model that
 * never ran another shape, and a different row count still gets new buffers.
 */
class ActivationsReshapeTest {
    static final LlamaConfig CONFIG = LlamaConfig.PRESETS.get("tiny");

    @Test
    void aReshapedPassEqualsAFreshOne() {
        int[] inputs = tokens(64, 1), targets = tokens(64, 2);
        float[] reshaped = new float[64], fresh = new float[64];
        try (LlamaModel used = model(); LlamaModel clean = model()) {
            used.tokenLosses(tokens(64, 3), tokens(64, 4), 2, 32, new float[64]);
            Activations first = used.activations(2, 32);
            used.tokenLosses(inputs, targets, 8, 8, reshaped);
            assertSame(first, used.activations(8, 8));
            clean.tokenLosses(inputs, targets, 8, 8, fresh);
            assertArrayEquals(fresh, reshaped);
            assertNotSame(first, used.activations(4, 8));
        }
    }

    private static LlamaModel model() {
        LlamaModel model = new LlamaModel(CONFIG, new CpuBackend(1));
        Initializer.initialize(model, 5);
        return model;
    }

    private static int[] tokens(int n, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = random.nextInt(CONFIG.vocabSize());
        return t;
    }
}
