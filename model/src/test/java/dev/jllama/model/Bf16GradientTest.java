package dev.jllama.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jllama.model.backend.Backend;
import dev.jllama.model.backend.Precision;
import dev.jllama.model.backend.cpu.CpuBackend;
import dev.jllama.model.optim.AdamW;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * bf16 mixed precision against fp32 on the same weights and batch: the loss and every parameter's gradient,
 * norm-wise per tensor ({@code ||g_bf16 - g_fp32|| / ||g_fp32||}).
 *
 * <p>A model of dim 128, 2 layers, 4 query and 2 key/value heads, vocab 512, batch 4 x 64, at LLaMA's initialisation
 * (what training starts from) and after 40 fp32 AdamW steps at a high rate on that batch (loss 6.2 to 1.5: peaked
 * attention and logits, and a small gradient made of cancelling terms, the hard case). Each product rounds both
 * operands to bf16, a relative error up to 2^-9 each, so every product's output carries about 2^-8 relative noise
 * whatever its length (the rounding errors are independent and add like the terms); the backward pass chains a few
 * such products per layer. Measured per tensor: 3.4e-3 to 7.2e-3 at initialisation, 3.5e-4 (final norm) to 3.3e-2
 * (first layer's norm gain) after training; loss 1e-5 and 9e-5 (on sbgemm: up to 3.6e-2, loss 2.2e-4, the
 * accumulation order being OpenBLAS's bf16 kernel's). Bounds: gradients 6e-2, loss 1e-3. Gradients
 * computed in fp32 where bf16 was asked for would agree to below 1e-5, which the lower bound (1e-3 on the largest
 * tensor error) catches; a wrong product gives errors of order 1.
 */
class Bf16GradientTest {
    private static final double GRADIENT_BOUND = 6e-2, LOSS_BOUND = 1e-3;
    private static final int BATCH = 4, SEQ = 64;

    /** AdamW in fp32 on the one batch at a high rate: weights that predict it, as a model part-way through training. */
    private static void train(LlamaModel model, int[] windows, int steps) {
        try (AdamW adamw = new AdamW(model.backend(), model.parameters(), AdamW.Hyper.LLAMA)) {
            for (int step = 1; step <= steps; step++) {
                model.zeroGradients();
                model.forwardBackward(windows, BATCH, SEQ, 1f / (BATCH * SEQ));
                adamw.update(3e-3, step, adamw.clipScale(adamw.gradientNorm()));
            }
        }
    }

    private static LlamaConfig config() {
        return new LlamaConfig(128, 2, 4, 2, 512, LlamaConfig.llamaHiddenDim(128, 32), 1e-5f, 10000f, SEQ, false);
    }

    @ParameterizedTest(name = "trained steps: {0}")
    @ValueSource(ints = {0, 40})
    void bf16GradientsStayCloseToFp32(int trainedSteps) {
        LlamaConfig config = config();
        int[] windows = new int[BATCH * (SEQ + 1)];
        SplittableRandom random = new SplittableRandom(3);
        for (int i = 0; i < windows.length; i++) windows[i] = random.nextInt(config.vocabSize());
        try (Backend fp32 = new CpuBackend(2, Precision.FP32); Backend bf16 = new CpuBackend(2, Precision.BF16);
             LlamaModel reference = new LlamaModel(config, fp32); LlamaModel mixed = new LlamaModel(config, bf16)) {
            Initializer.initialize(reference, 5);
            train(reference, windows, trainedSteps);
            List<Parameters.Param> fp32Params = reference.parameters().all(), bf16Params = mixed.parameters().all();
            for (int i = 0; i < fp32Params.size(); i++) {
                float[] w = ModelGradientTest.read(fp32, fp32Params.get(i).value());
                bf16.write(bf16Params.get(i).value(), 0, w, 0, w.length);
            }
            reference.zeroGradients();
            mixed.zeroGradients();
            double lossFp32 = reference.forwardBackward(windows, BATCH, SEQ, 1f / (BATCH * SEQ));
            double lossBf16 = mixed.forwardBackward(windows, BATCH, SEQ, 1f / (BATCH * SEQ));
            double lossError = Math.abs(lossBf16 - lossFp32) / Math.abs(lossFp32);
            Map<String, Double> errors = new LinkedHashMap<>();
            for (int i = 0; i < fp32Params.size(); i++) {
                float[] expected = ModelGradientTest.read(fp32, fp32Params.get(i).grad());
                float[] actual = ModelGradientTest.read(bf16, bf16Params.get(i).grad());
                errors.put(fp32Params.get(i).name(), GradCheck.relativeError(actual, expected));
            }
            System.out.printf("bf16 vs fp32 (%s): loss %.6f vs %.6f (relative %.2e); gradients %s%n",
                    trainedSteps == 0 ? "LLaMA-initialised" : "trained " + trainedSteps + " steps", lossBf16, lossFp32, lossError, errors);
            assertTrue(lossError <= LOSS_BOUND, "loss relative error " + lossError);
            errors.forEach((name, error) -> assertTrue(error <= GRADIENT_BOUND, name + ": relative error " + error));
            double largest = errors.values().stream().mapToDouble(Double::doubleValue).max().orElseThrow();
            assertTrue(largest > 1e-3, "bf16 gradients equal fp32's to " + largest + ": no product ran in bf16");
        }
    }

    /** bf16 keeps the backend's property: the same bits for any thread count (attention and the LM head included). */
    @Test
    void bf16GradientsDoNotDependOnTheThreadCount() {
        LlamaConfig config = config();
        int[] windows = new int[BATCH * (SEQ + 1)];
        SplittableRandom random = new SplittableRandom(4);
        for (int i = 0; i < windows.length; i++) windows[i] = random.nextInt(config.vocabSize());
        float[][] first = null;
        for (int threads : new int[] {1, 3}) {
            try (Backend backend = new CpuBackend(threads, Precision.BF16);
                 LlamaModel model = new LlamaModel(config, backend)) {
                Initializer.initialize(model, 8);
                model.zeroGradients();
                model.forwardBackward(windows, BATCH, SEQ, 1f / (BATCH * SEQ));
                List<Parameters.Param> params = model.parameters().all();
                float[][] grads = new float[params.size()][];
                for (int i = 0; i < grads.length; i++) grads[i] = ModelGradientTest.read(backend, params.get(i).grad());
                if (first == null) {
                    first = grads;
                } else {
                    for (int i = 0; i < grads.length; i++) {
                        assertArrayEquals(first[i], grads[i], params.get(i).name());
                    }
                }
            }
        }
    }
}
