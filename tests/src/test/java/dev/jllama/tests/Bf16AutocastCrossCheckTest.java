package dev.jllama.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jllama.data.tokenizer.Tokenizer;
import dev.jllama.model.LlamaConfig;
import dev.jllama.model.LlamaModel;
import dev.jllama.model.backend.Precision;
import dev.jllama.model.export.ModelWeights;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Our bf16 forward against PyTorch's bf16 mixed precision, {@code torch.autocast("cpu", dtype=torch.bfloat16)}
 * around transformers' {@code LlamaForCausalLM}, on the same weights (exported with {@code llama export --format hf})
 * and tokens.
 */
class Bf16AutocastCrossCheckTest {
    @TempDir
    Path tmp;

    @BeforeAll
    static void needsPython() {
        HfPython.assumeAvailable();
    }

    private static double maxAbsDiff(float[] a, float[] b) {
        double max = 0;
        for (int i = 0; i < a.length; i++) max = Math.max(max, Math.abs((double) a[i] - b[i]));
        return max;
    }

    private static double maxAbs(float[] a) {
        double max = 0;
        for (float x : a) max = Math.max(max, Math.abs(x));
        return max;
    }

    /**
     * The tolerance, relative to the largest |logit|: both sides compute in bf16 what fp32 computes, with different
     * roundings (autocast also rounds every product's output to bf16 and keeps the residual stream in bf16 where
     * transformers adds bf16 outputs; we round only operands), so each differs from fp32 by bf16 noise and from each
     * other by at most about the sum. bf16 keeps 8 significant bits: one rounding is 2^-9 = 2e-3 relative, and the
     * logits pass through about a dozen roundings in this 2-layer model (tiny preset's shape, weights N(0, 0.08^2)).
     * Measured: ours bf16 vs autocast 1.08e-2, autocast vs fp32 1.07e-2, ours bf16 vs ours fp32 1.25e-2, our fp32 vs
     * transformers' fp32 7e-7. Bound 4e-2: bf16 noise, not a semantic difference (those move logits by O(1)).
     */
    @Test
    void ourBf16LogitsMatchPyTorchAutocast() throws Exception {
        LlamaConfig config = ExportFixtures.UNTIED;
        ModelWeights weights = ExportFixtures.randomWeights(config, 41, 0.08);
        Path run = ExportFixtures.checkpoint(weights, tmp.resolve("run"));
        Path hf = tmp.resolve("hf");
        ExportFixtures.llama("export", "--checkpoint", run.toString(), "--format", "hf", "--out", hf.toString());
        int batch = 2, seqLen = 40;
        int[] tokens = Arrays.copyOf(Tokenizer.bundled().encode(ExportFixtures.TEXT), batch * seqLen);
        float[] oursFp32, oursBf16;
        try (LlamaModel model = ExportFixtures.load(weights, Precision.FP32)) {
            oursFp32 = model.logits(tokens, batch, seqLen);
        }
        try (LlamaModel model = ExportFixtures.load(weights, Precision.BF16)) {
            oursBf16 = model.logits(tokens, batch, seqLen);
        }
        Path batchFile = ExportFixtures.batchFile(tmp.resolve("batch.json"), batch, seqLen, tokens);
        HfPython.run("logits", hf.toString(), batchFile.toString(), tmp.resolve("fp32.bin").toString(), "fp32");
        HfPython.run("logits", hf.toString(), batchFile.toString(), tmp.resolve("bf16.bin").toString(), "bf16");
        float[] torchFp32 = HfPython.readFloats(tmp.resolve("fp32.bin"));
        float[] autocast = HfPython.readFloats(tmp.resolve("bf16.bin"));
        assertEquals(oursBf16.length, autocast.length);
        double scale = maxAbs(torchFp32);
        double oursVsAutocast = maxAbsDiff(oursBf16, autocast) / scale;
        double autocastVsFp32 = maxAbsDiff(autocast, torchFp32) / scale;
        double oursVsFp32 = maxAbsDiff(oursBf16, oursFp32) / scale;
        double fp32VsFp32 = maxAbsDiff(oursFp32, torchFp32) / scale;
        System.out.printf("bf16 logits, max |difference| / max |logit| (%.3g): ours bf16 vs autocast %.3g, autocast vs"
                + " fp32 %.3g, ours bf16 vs ours fp32 %.3g, ours fp32 vs transformers fp32 %.3g%n", scale,
                oursVsAutocast, autocastVsFp32, oursVsFp32, fp32VsFp32);
        assertTrue(fp32VsFp32 < 1e-4, "the fp32 models agree first: " + fp32VsFp32);
        assertTrue(oursVsFp32 > 1e-4, "our bf16 logits equal fp32's to " + oursVsFp32 + ": nothing ran in bf16");
        assertTrue(autocastVsFp32 > 1e-4, "autocast changed nothing (" + autocastVsFp32 + "): not a bf16 reference");
        assertTrue(oursVsAutocast <= 4e-2, "ours bf16 vs autocast: " + oursVsAutocast);
    }
}
