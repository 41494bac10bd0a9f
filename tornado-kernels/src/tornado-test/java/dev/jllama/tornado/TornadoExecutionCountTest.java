package dev.jllama.tornado;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jllama.model.LlamaConfig;
import dev.jllama.model.bench.StepBenchmark;
import org.junit.jupiter.api.Test;

/**
 * TornadoVM executions per training step, as {@code bench --profile} counts them: each costs a fixed 100-150 us
 * whatever its size, so a change that adds any fails here. A step of one micro-batch whose LM head fits one chunk
 * is {@link #FIXED} executions and three per layer (its forward graph and the two graphs of its backward).
 */
class TornadoExecutionCountTest {
    /**
     * Zeroing the gradients (one list), the two token uploads, the embedding, the final norm with the LM head and
     * loss, reading the loss sum, the start of the backward pass, the grouped tokens' upload and the embedding
     * backward, the gradient norm (one list) and AdamW (one list).
     */
    static final int FIXED = 11;

    private static double executionsPerStep(String preset, int batch, int seqLen) throws Exception {
        return executionsPerStep(preset, LlamaConfig.PRESETS.get(preset), batch, seqLen);
    }

    private static double executionsPerStep(String name, LlamaConfig config, int batch, int seqLen) throws Exception {
        try (TornadoBackend tornado = new TornadoBackend(-1, Math.max(512L << 20, TornadoBackend.configuredMemoryBytes()))) {
            StepBenchmark.Result r = StepBenchmark.run(tornado, config, batch, seqLen, 2, false);
            System.out.printf("%s batch %d x %d: %.1f TornadoVM executions per step%n", name, batch, seqLen,
                    r.executionsPerStep());
            return r.executionsPerStep();
        }
    }

    @Test
    void tinyStepIsThreeExecutionsPerLayerAndAFewMore() throws Exception {
        LlamaConfig tiny = LlamaConfig.PRESETS.get("tiny");
        assertEquals(FIXED + 3 * tiny.layers(), executionsPerStep("tiny", 1, 32));
    }

    /** The goal: at most 50 executions per 15M step (the count does not depend on the batch within a chunk). */
    @Test
    void fifteenMillionStepWithinFiftyExecutions() throws Exception {
        LlamaConfig small = LlamaConfig.PRESETS.get("15M");
        double executions = executionsPerStep("15M", 1, 64);
        assertEquals(FIXED + 3 * small.layers(), executions);
        assertTrue(executions <= 50, executions + " executions per 15M step");
    }

    /** Attention in 16-thread work-groups (head_dim 128) runs inside the layer graphs like the 32-thread one. */
    @Test
    void headDim128StepIsThreeExecutionsPerLayerAndAFewMore() throws Exception {
        LlamaConfig wide = TornadoTrainingStepParityTest.WIDE_HEADS;
        assertEquals(FIXED + 3 * wide.layers(), executionsPerStep("head_dim 128", wide, 1, 40));
    }
}
