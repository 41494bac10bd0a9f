package dev.jllama.tornado;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jllama.model.LlamaConfig;
import dev.jllama.model.backend.cpu.CpuBackend;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A full training step of the `tiny` preset on TornadoVM, with each GEMM kernel, equals the CPU backend's within
 * 1e-4 (norm-wise); so does one of the 15M preset, whose LM-head backward (K = 32000 vocabulary) is split along K,
 * and one of a model with the paper's 7B-65B head width (head_dim 128) and grouped-query attention.
 */
class TornadoTrainingStepParityTest {
    /** Two layers of 2 heads of 128 sharing one kv head, over a small vocabulary. */
    static final LlamaConfig WIDE_HEADS = new LlamaConfig(256, 2, 2, 1, 512, LlamaConfig.llamaHiddenDim(256, 32),
            1e-5f, 10000f, 64, true);

    @Test
    void tinyPresetStepMatchesCpu() {
        tinyStep(TornadoBackend.Gemm.TILE64);
    }

    @Test
    void tinyPresetStepMatchesCpuWithTheGemm128Kernel() {
        tinyStep(TornadoBackend.Gemm.TILE128);
    }

    @Test
    void smallPresetStepWithSplitLmHead() {
        step(TornadoBackend.Gemm.TILE128, "15M", 1, 64);
    }

    @Test
    void headDim128StepMatchesCpu() {
        step(TornadoBackend.Gemm.TILE128, WIDE_HEADS, 2, 40);
    }

    private static void tinyStep(TornadoBackend.Gemm kernel) {
        step(kernel, "tiny", 2, 40);
    }

    private static void step(TornadoBackend.Gemm kernel, String preset, int batch, int seqLen) {
        step(kernel, LlamaConfig.PRESETS.get(preset), batch, seqLen);
    }

    private static void step(TornadoBackend.Gemm kernel, LlamaConfig config, int batch, int seqLen) {
        try (TornadoBackend tornado = new TornadoBackend(-1, Math.max(512L << 20, TornadoBackend.configuredMemoryBytes()));
             CpuBackend cpu = new CpuBackend(2)) {
            tornado.gemm(kernel);
            List<ParityChecks.Result> results = new ParityChecks(tornado, cpu)
                    .trainingStep(config, batch, seqLen, 1e-4);
            StringBuilder report = new StringBuilder();
            boolean ok = true;
            double worst = 0;
            for (ParityChecks.Result r : results) {
                report.append(r).append('\n');
                ok &= r.ok();
                worst = Math.max(worst, r.error());
            }
            System.out.print(report);
            System.out.printf("gemm %d: worst relative error %.3e over %d outputs%n", kernel.tile(), worst, results.size());
            assertTrue(results.size() > 20, "loss, every gradient and every parameter are compared");
            assertTrue(ok, report.toString());
        }
    }
}
