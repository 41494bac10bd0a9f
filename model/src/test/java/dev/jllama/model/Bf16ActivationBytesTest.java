package dev.jllama.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jllama.model.backend.Backend;
import dev.jllama.model.backend.Precision;
import dev.jllama.model.backend.cpu.CpuBackend;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * In bf16 the saved outputs of products (q, k, v, the attention output, the two feed-forward projections) take 2
 * bytes an element instead of 4, and the memory figure says so; under LoRA, whose adapters add into them, they stay
 * fp32.
 */
class Bf16ActivationBytesTest {
    private static final int BATCH = 2, SEQ = 32;

    private static LlamaConfig config() {
        return new LlamaConfig(64, 3, 4, 2, 300, LlamaConfig.llamaHiddenDim(64, 32), 1e-5f, 10000f, SEQ, false);
    }

    @Test
    void savedProductOutputsTakeHalfTheBytesInBf16() {
        LlamaConfig c = config();
        try (Backend fp32 = new CpuBackend(1, Precision.FP32); Backend bf16 = new CpuBackend(1, Precision.BF16);
             LlamaModel full = new LlamaModel(c, fp32); LlamaModel mixed = new LlamaModel(c, bf16)) {
            long rows = BATCH * SEQ;
            long narrowed = c.layers() * rows * (2L * c.dim() + 2L * c.kvDim() + 2L * c.hiddenDim());
            assertEquals(full.activationBytes(BATCH, SEQ) - 2 * narrowed, mixed.activationBytes(BATCH, SEQ));
        }
    }

    @Test
    void underLoraTheSavedOutputsStayFp32AndTrainingRuns() {
        LlamaConfig c = config();
        Lora.Spec spec = new Lora.Spec(4, 8, List.of("q", "v", "o", "gate", "down"));
        try (Backend fp32 = new CpuBackend(1, Precision.FP32); Backend bf16 = new CpuBackend(1, Precision.BF16);
             LlamaModel full = new LlamaModel(c, fp32); LlamaModel mixed = new LlamaModel(c, bf16)) {
            Initializer.initialize(full, 3);
            Initializer.initialize(mixed, 3);
            long before = mixed.activationBytes(BATCH, SEQ); // allocated narrow, then given up for the adapters
            full.enableLora(spec, 5);
            mixed.enableLora(spec, 5);
            int[] windows = new int[BATCH * (SEQ + 1)];
            SplittableRandom random = new SplittableRandom(1);
            for (int i = 0; i < windows.length; i++) windows[i] = random.nextInt(c.vocabSize());
            double expected = full.forwardBackward(windows, BATCH, SEQ, 1f / (BATCH * SEQ));
            double actual = mixed.forwardBackward(windows, BATCH, SEQ, 1f / (BATCH * SEQ));
            assertEquals(full.activationBytes(BATCH, SEQ), mixed.activationBytes(BATCH, SEQ));
            assertTrue(mixed.activationBytes(BATCH, SEQ) > before);
            assertEquals(expected, actual, 1e-2 * Math.abs(expected), "bf16 loss under LoRA");
        }
    }
}
