package dev.jllama.tornado;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jllama.model.LlamaConfig;
import dev.jllama.model.LlamaModel;
import dev.jllama.model.ParameterLayout;
import dev.jllama.model.Parameters;
import dev.jllama.model.backend.Tensor;
import dev.jllama.model.bench.StepBenchmark;
import java.util.ArrayList;
import java.util.List;
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

    /**
     * A gradient bucket leaves the device in ceil(bucket floats / stage) executions, whatever its tensor count: each
     * of the 15M preset's buckets (a layer's nine tensors, the final norm, the 9.2M-float shared embedding), and
     * one list of small tensors with one larger than two stages in the middle.
     */
    @Test
    void listReadAndWriteAreOneExecutionPerStageFull() {
        try (TornadoBackend tornado = new TornadoBackend(-1, Math.max(512L << 20, TornadoBackend.configuredMemoryBytes()));
             LlamaModel model = new LlamaModel(LlamaConfig.PRESETS.get("15M"), tornado)) {
            ParameterLayout layout = new ParameterLayout(model.parameters());
            float[] host = new float[layout.size()];
            for (ParameterLayout.Bucket bucket : layout.buckets()) {
                List<Tensor> grads = new ArrayList<>();
                int[] offsets = new int[bucket.params().size()];
                for (Parameters.Param p : bucket.params()) {
                    offsets[grads.size()] = layout.offset(p);
                    grads.add(p.grad());
                }
                assertReadExecutions(tornado, grads, host, offsets, bucket.length());
            }
            int[] sizes = {1000, 7, 2 * TornadoBackend.LARGE_STAGE + 3, 288, 0, 5000};
            List<Tensor> tensors = new ArrayList<>();
            int[] offsets = new int[sizes.length];
            int total = 0;
            for (int i = 0; i < sizes.length; i++) {
                tensors.add(tornado.allocate("t" + i, sizes[i]));
                offsets[i] = total;
                total += sizes[i];
            }
            assertReadExecutions(tornado, tensors, new float[total], offsets, total);
        }
    }

    /** A list read, and a list write of the same tensors, each take one execution per stage-full. */
    private static void assertReadExecutions(TornadoBackend tornado, List<Tensor> tensors, float[] host, int[] offsets,
                                             int floats) {
        long expected = (floats + TornadoBackend.LARGE_STAGE - 1) / TornadoBackend.LARGE_STAGE;
        long before = tornado.executions();
        tornado.read(tensors, host, offsets);
        assertEquals(expected, tornado.executions() - before, "read of " + tensors.size() + " tensors of " + floats + " floats");
        before = tornado.executions();
        tornado.write(tensors, host, offsets);
        assertEquals(expected, tornado.executions() - before, "write of " + tensors.size() + " tensors of " + floats + " floats");
    }
}
