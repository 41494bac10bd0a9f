package dev.jllama.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jllama.model.backend.cpu.CpuBackend;
import dev.jllama.model.generate.Generation;
import dev.jllama.model.generate.Sampler;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Incremental decoding with the key/value cache against the full forward pass of {@link LlamaModel#logits} over the
 * whole prefix, at every position, with grouped-query attention (4 heads, 2 kv heads, untied head) and without
 * (4/4, tied). The sequence (150 tokens) spans several of the full attention's 64-key blocks.
 *
 * <p>Tolerance, fp32: both paths do the same float32 arithmetic in another order (the full pass's blockwise online
 * softmax and blocked GEMM against one query row's two-pass softmax). Measured over all 150 positions: the largest
 * logit difference is at most 2.4e-6 of the row's largest logit (2.9e-5 absolute); the bound is 2e-5 of it, while a
 * wrong position, a cache slot off by one or a wrong kv head moves logits by O(10 %).
 */
class DecoderTest {
    private static final double TOLERANCE = 2e-5;
    private static final int SEQ = 150;

    static LlamaConfig config(boolean gqa) {
        return new LlamaConfig(32, 2, 4, gqa ? 2 : 4, 53, 48, 1e-5f, 10000f, SEQ, !gqa);
    }

    static int[] tokens(int n, int vocab, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = random.nextInt(vocab);
        return t;
    }

    /** Largest difference of a row's logits relative to its largest logit (in magnitude). */
    private static double maxDifference(float[] full, int row, float[] step) {
        double worst = 0, scale = 0;
        for (int i = 0; i < step.length; i++) {
            worst = Math.max(worst, Math.abs(full[row * step.length + i] - step[i]));
            scale = Math.max(scale, Math.abs(full[row * step.length + i]));
        }
        return worst / scale;
    }

    @ParameterizedTest(name = "gqa={0}")
    @ValueSource(booleans = {true, false})
    void tokenByTokenEqualsTheFullForwardAtEveryPosition(boolean gqa) {
        LlamaConfig c = config(gqa);
        try (CpuBackend backend = new CpuBackend(2); LlamaModel model = new LlamaModel(c, backend);
             Decoder decoder = new Decoder(model, SEQ, 16)) {
            ModelGradientTest.randomize(model, 7);
            int[] seq = tokens(SEQ, c.vocabSize(), 11);
            float[] full = model.logits(seq, 1, seq.length);
            double worst = 0;
            for (int t = 0; t < SEQ; t++) {
                float[] step = decoder.append(new int[] {seq[t]});
                worst = Math.max(worst, maxDifference(full, t, step));
            }
            assertEquals(SEQ, decoder.position());
            assertTrue(worst < TOLERANCE, "largest logit difference " + worst);
        }
    }

    @ParameterizedTest(name = "gqa={0}")
    @ValueSource(booleans = {true, false})
    void chunkedPromptsEqualTheFullForward(boolean gqa) {
        LlamaConfig c = config(gqa);
        try (CpuBackend backend = new CpuBackend(2); LlamaModel model = new LlamaModel(c, backend);
             Decoder decoder = new Decoder(model, SEQ, 16)) {
            ModelGradientTest.randomize(model, 3);
            int[] seq = tokens(SEQ, c.vocabSize(), 5);
            float[] full = model.logits(seq, 1, seq.length);
            // Appends of 1..40 tokens, some longer than the decoder's 16-row chunks.
            int at = 0;
            for (int n = 1; at < SEQ; n = n % 40 + 7) {
                int len = Math.min(n, SEQ - at);
                float[] last = decoder.append(Arrays.copyOfRange(seq, at, at + len));
                at += len;
                double diff = maxDifference(full, at - 1, last);
                assertTrue(diff < TOLERANCE, "after " + at + " tokens: logit difference " + diff);
            }
            assertThrows(IllegalArgumentException.class, () -> decoder.append(new int[] {1}), "the cache is full");
        }
    }

    @ParameterizedTest(name = "gqa={0}")
    @ValueSource(booleans = {true, false})
    void greedyGenerationEqualsArgmaxOfTheFullForward(boolean gqa) {
        LlamaConfig c = config(gqa);
        try (CpuBackend backend = new CpuBackend(1); LlamaModel model = new LlamaModel(c, backend);
             Decoder decoder = new Decoder(model, SEQ, 8)) {
            ModelGradientTest.randomize(model, 21);
            int[] prompt = tokens(9, c.vocabSize(), 2);
            Generation.Result result = Generation.run(decoder, prompt, 60, -1, new Sampler(0, 0, 1, 0), id -> {});

            int[] seq = Arrays.copyOf(prompt, prompt.length + 60);
            for (int i = 0; i < 60; i++) {
                int len = prompt.length + i;
                float[] full = model.logits(Arrays.copyOf(seq, len), 1, len);
                int best = 0;
                for (int v = 1; v < c.vocabSize(); v++) {
                    if (full[(len - 1) * c.vocabSize() + v] > full[(len - 1) * c.vocabSize() + best]) best = v;
                }
                seq[len] = best;
            }
            assertEquals(Generation.Stop.MAX_TOKENS, result.stop());
            assertArrayEquals(Arrays.copyOfRange(seq, prompt.length, seq.length), result.tokens());
        }
    }

    @ParameterizedTest(name = "stop at {0}")
    @ValueSource(ints = {0, 5})
    void generationStopsAtTheStopTokenAndAtAFullContext(int stopAfter) {
        LlamaConfig c = config(true);
        try (CpuBackend backend = new CpuBackend(1); LlamaModel model = new LlamaModel(c, backend);
             Decoder decoder = new Decoder(model, 20, 8)) {
            ModelGradientTest.randomize(model, 4);
            int[] prompt = tokens(6, c.vocabSize(), 9);
            Sampler greedy = new Sampler(0, 0, 1, 0);
            Generation.Result full = Generation.run(decoder, prompt, 100, -1, greedy, id -> {});
            int[] free = full.tokens();
            // 6 prompt and 14 generated tokens fill the 20 positions; the logits after the last give a 15th.
            assertEquals(Generation.Stop.CONTEXT, full.stop());
            assertEquals(15, free.length);
            Generation.Result stopped = Generation.run(decoder, prompt, 100, free[stopAfter], greedy, id -> {});
            int first = 0;
            while (free[first] != free[stopAfter]) first++;
            assertEquals(Generation.Stop.EOS, stopped.stop());
            assertArrayEquals(Arrays.copyOf(free, first), stopped.tokens());
        }
    }
}
