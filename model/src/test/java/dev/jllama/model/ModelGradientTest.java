package dev.jllama.model;

import static dev.jllama.model.GradCheck.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.jllama.model.backend.Backend;
import dev.jllama.model.backend.cpu.CpuBackend;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Whole-model gradient check: dLoss/dparam from {@link LlamaModel#forwardBackward} for a sample of elements of
 * every parameter tensor against central differences of {@link LlamaModel#loss}.
 *
 * <p>Odd sizes on purpose (vocab 37, hidden 43, seq 7), grouped-query attention (4 heads, 2 kv heads), with and
 * without tied embeddings. Weights are larger than LLaMA's initialisation (std 0.3, gains 1 ± 0.2) so that
 * attention is far from uniform and every gradient is well above the float32 noise.
 *
 * <p>Tolerance: the summed loss (about 14 tokens x 3.6) is computed in float32 through ~20 kernels, so its
 * rounding is about {@code 1e-6} relative, i.e. {@code 5e-5} absolute; with {@code h = 1e-2} that is
 * {@code 2.5e-3} absolute noise per central difference, against per-tensor gradient norms of order 0.1-10;
 * truncation ({@code h^2 f'''/6}) adds about {@code 1e-4} relative. Measured: 1.5e-5 .. 1.6e-3 per tensor
 * (norm-wise over its sampled elements), hence a bound of 1e-2; a wrong backward term gives O(0.1 .. 1).
 * The PyTorch parity test checks the same gradients to 1e-5.
 */
class ModelGradientTest {
    private static final double H = 1e-2;
    private static final double TOLERANCE = 1e-2;
    private static final int BATCH = 2, SEQ = 7;

    static LlamaConfig tinyConfig(boolean tied) {
        return new LlamaConfig(16, 2, 4, 2, 37, 43, 1e-5f, 10000f, SEQ, tied);
    }

    /** Random weights: matrices N(0, 0.3^2) (embeddings N(0, 1)), gains 1 + N(0, 0.2^2). */
    static void randomize(LlamaModel model, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        for (Parameters.Param p : model.parameters().all()) {
            double std = p.name().equals("tok_embeddings.weight") ? 1.0 : 0.3;
            float[] values = GradCheck.normal(p.size(), p.decay() ? std : 0.2, random);
            if (!p.decay()) for (int i = 0; i < values.length; i++) values[i] += 1f;
            model.backend().write(p.value(), 0, values, 0, values.length);
        }
    }

    static int[] windows(int vocab, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        int[] w = new int[BATCH * (SEQ + 1)];
        for (int i = 0; i < w.length; i++) w[i] = random.nextInt(vocab);
        return w;
    }

    static float[] read(Backend backend, dev.jllama.model.backend.Tensor t) {
        float[] out = new float[t.size()];
        backend.read(t, 0, out, 0, out.length);
        return out;
    }

    @ParameterizedTest(name = "tied embeddings: {0}")
    @ValueSource(booleans = {false, true})
    void everyParameterGradientMatchesCentralDifferences(boolean tied) {
        LlamaConfig config = tinyConfig(tied);
        try (Backend backend = new CpuBackend(2); LlamaModel model = new LlamaModel(config, backend)) {
            randomize(model, 11);
            int[] windows = windows(config.vocabSize(), 12);
            model.zeroGradients();
            // gradScale 1: the gradient of the summed loss, which is what loss() returns.
            double loss = model.forwardBackward(windows, BATCH, SEQ, 1f);
            assertEquals(loss, model.loss(windows, BATCH, SEQ), 0, "loss() must equal forwardBackward()'s loss");
            SplittableRandom random = new SplittableRandom(13);
            List<String> names = new ArrayList<>();
            for (Parameters.Param p : model.parameters().all()) {
                names.add(p.name());
                float[] values = read(backend, p.value());
                float[] grad = read(backend, p.grad());
                int[] indices = GradCheck.sample(p.size(), 12, random);
                GradCheck.Report report = GradCheck.check(p.name() + (tied ? " (tied)" : ""), values, indices, H,
                        v -> {
                            backend.write(p.value(), 0, v, 0, v.length);
                            return model.loss(windows, BATCH, SEQ);
                        }, grad);
                backend.write(p.value(), 0, values, 0, values.length);
                assertClose(report, TOLERANCE);
            }
            // Every parameter tensor was checked; the tied model has no separate output matrix.
            assertEquals(tied ? 2 + 9 * config.layers() : 3 + 9 * config.layers(), names.size(), names.toString());
        }
    }

    @Test
    void gradientsScaleWithGradScaleAndAccumulateAcrossCalls() {
        LlamaConfig config = tinyConfig(false);
        try (Backend backend = new CpuBackend(2); LlamaModel model = new LlamaModel(config, backend)) {
            randomize(model, 21);
            int[] windows = windows(config.vocabSize(), 22);
            model.zeroGradients();
            model.forwardBackward(windows, BATCH, SEQ, 1f);
            List<float[]> once = new ArrayList<>();
            for (Parameters.Param p : model.parameters().all()) once.add(read(backend, p.grad()));
            // Two micro-batches of gradScale 0.25 must sum to half the gradient of one call with scale 1.
            model.zeroGradients();
            model.forwardBackward(windows, BATCH, SEQ, 0.25f);
            model.forwardBackward(windows, BATCH, SEQ, 0.25f);
            List<Parameters.Param> all = model.parameters().all();
            for (int i = 0; i < all.size(); i++) {
                float[] half = once.get(i).clone();
                for (int j = 0; j < half.length; j++) half[j] *= 0.5f;
                double error = GradCheck.relativeError(read(backend, all.get(i).grad()), half);
                assertEquals(0, error, 1e-6, all.get(i).name() + ": accumulated gradient");
            }
        }
    }

    /**
     * The LM head and loss run over chunks of 256 rows: one micro-batch of 3 x 100 rows (two chunks, the second
     * partial) must give the loss and gradients of three single-row micro-batches of 100 rows (one chunk each).
     */
    @Test
    void chunkedLmHeadMatchesSeparateMicroBatches() {
        LlamaConfig config = new LlamaConfig(16, 1, 4, 2, 37, 43, 1e-5f, 10000f, 100, false);
        int batch = 3, seq = 100;
        SplittableRandom random = new SplittableRandom(41);
        int[] windows = new int[batch * (seq + 1)];
        for (int i = 0; i < windows.length; i++) windows[i] = random.nextInt(config.vocabSize());
        try (Backend backend = new CpuBackend(2); LlamaModel model = new LlamaModel(config, backend)) {
            randomize(model, 42);
            model.zeroGradients();
            double whole = model.forwardBackward(windows, batch, seq, 1f);
            List<float[]> expected = new ArrayList<>();
            for (Parameters.Param p : model.parameters().all()) expected.add(read(backend, p.grad()));
            model.zeroGradients();
            double parts = 0;
            for (int b = 0; b < batch; b++) {
                int[] one = java.util.Arrays.copyOfRange(windows, b * (seq + 1), (b + 1) * (seq + 1));
                parts += model.forwardBackward(one, 1, seq, 1f);
            }
            assertEquals(whole, parts, 1e-6 * Math.abs(whole), "summed loss");
            List<Parameters.Param> all = model.parameters().all();
            for (int i = 0; i < all.size(); i++) {
                double error = GradCheck.relativeError(read(backend, all.get(i).grad()), expected.get(i));
                assertEquals(0, error, 1e-5, all.get(i).name() + ": chunked vs per-sequence gradient");
            }
        }
    }

    /**
     * The CPU backend promises results independent of the thread count, and of JIT warm-up: run alone, this test
     * starts on a cold JVM, where vector reductions and exp must give the same bits as compiled code.
     */
    @Test
    void resultsDoNotDependOnTheThreadCount() {
        LlamaConfig config = new LlamaConfig(48, 2, 6, 2, 301, 131, 1e-5f, 10000f, 70, false);
        float[][] grads = new float[2][];
        double[] losses = new double[2];
        int[] threads = {1, 3};
        SplittableRandom random = new SplittableRandom(31);
        int[] windows = new int[2 * 71];
        for (int i = 0; i < windows.length; i++) windows[i] = random.nextInt(config.vocabSize());
        for (int t = 0; t < 2; t++) {
            try (Backend backend = new CpuBackend(threads[t]); LlamaModel model = new LlamaModel(config, backend)) {
                Initializer.initialize(model, 5);
                model.zeroGradients();
                losses[t] = model.forwardBackward(windows, 2, 70, 1f / 140);
                float[] all = new float[(int) model.parameters().count()];
                int at = 0;
                for (Parameters.Param p : model.parameters().all()) {
                    backend.read(p.grad(), 0, all, at, p.size());
                    at += p.size();
                }
                grads[t] = all;
            }
        }
        assertEquals(losses[0], losses[1], 0, "loss with 1 and 3 threads");
        assertArrayEquals(grads[0], grads[1], "gradients with 1 and 3 threads must be bit-identical");
    }

    @Test
    void ropeTableFollowsTheDefinition() {
        LlamaConfig config = new LlamaConfig(24, 1, 2, 1, 5, 8, 1e-5f, 500000f, 11, false);
        float[] table = LlamaModel.ropeTable(config);
        int half = config.headDim() / 2;
        for (int pos = 0; pos < config.maxSeqLen(); pos++) {
            for (int j = 0; j < half; j++) {
                double angle = pos * Math.pow(config.ropeTheta(), -2.0 * j / config.headDim());
                assertEquals((float) Math.cos(angle), table[(pos * half + j) * 2], "cos at pos " + pos + " pair " + j);
                assertEquals((float) Math.sin(angle), table[(pos * half + j) * 2 + 1], "sin at pos " + pos + " pair " + j);
            }
        }
    }
}
