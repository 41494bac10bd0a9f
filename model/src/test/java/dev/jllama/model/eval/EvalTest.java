package dev.jllama.model.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jllama.model.LlamaConfig;
import dev.jllama.model.LlamaModel;
import dev.jllama.model.Parameters;
import dev.jllama.model.backend.cpu.CpuBackend;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Perplexity against the mean loss of the training forward ({@link LlamaModel#loss}) on the same windows, and
 * multiple-choice scores against per-token log-likelihoods summed from the full forward's logits.
 */
class EvalTest {
    private static final LlamaConfig CONFIG = new LlamaConfig(32, 2, 4, 2, 61, 48, 1e-5f, 10000f, 24, false);

    private static LlamaModel model(CpuBackend backend, long seed) {
        LlamaModel model = new LlamaModel(CONFIG, backend);
        SplittableRandom random = new SplittableRandom(seed);
        for (Parameters.Param p : model.parameters().all()) {
            float[] values = new float[p.size()];
            for (int i = 0; i < values.length; i++) {
                values[i] = p.decay() ? (float) (random.nextGaussian() * 0.3) : 1f + (float) (random.nextGaussian() * 0.1);
            }
            backend.write(p.value(), 0, values, 0, values.length);
        }
        return model;
    }

    private static int[] tokens(int n, SplittableRandom random) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = random.nextInt(CONFIG.vocabSize());
        return t;
    }

    @Test
    void perplexityIsExpOfTheTrainingForwardsMeanLossAndBitsPerByteCountTargetBytes() {
        int seqLen = 16;
        SplittableRandom random = new SplittableRandom(3);
        List<int[]> windows = new ArrayList<>();
        for (int i = 0; i < 11; i++) windows.add(tokens(seqLen + 1, random)); // 11 = 2 batches of 4 and one of 3
        int[] tokenBytes = new int[CONFIG.vocabSize()];
        for (int id = 0; id < tokenBytes.length; id++) tokenBytes[id] = id % 5;
        try (CpuBackend backend = new CpuBackend(2); LlamaModel model = model(backend, 1)) {
            Perplexity.Result r = Perplexity.evaluate(model, windows, 4, tokenBytes);

            double nats = 0;
            long bytes = 0;
            for (int[] w : windows) {
                nats += model.loss(w, 1, seqLen);
                for (int t = 1; t <= seqLen; t++) bytes += tokenBytes[w[t]];
            }
            long tokens = 11L * seqLen;
            assertEquals(tokens, r.tokens());
            assertEquals(bytes, r.bytes());
            assertEquals(nats / tokens, r.meanLoss(), 1e-5 * nats / tokens);
            assertEquals(Math.exp(nats / tokens), r.perplexity(), 1e-5 * r.perplexity());
            assertEquals(nats / Math.log(2) / bytes, r.bitsPerByte(), 1e-5 * r.bitsPerByte());
        }
    }

    /** Summed log-probability of {@code choice} after {@code context}, from the full forward's logits. */
    private static double logLikelihood(LlamaModel model, int[] context, int[] choice) {
        int[] seq = new int[context.length + choice.length];
        System.arraycopy(context, 0, seq, 0, context.length);
        System.arraycopy(choice, 0, seq, context.length, choice.length);
        int vocab = CONFIG.vocabSize();
        float[] logits = model.logits(java.util.Arrays.copyOf(seq, seq.length - 1), 1, seq.length - 1); // the last token is only a target
        double sum = 0;
        for (int i = 0; i < choice.length; i++) {
            int row = context.length - 1 + i;
            double max = Double.NEGATIVE_INFINITY, z = 0;
            for (int v = 0; v < vocab; v++) max = Math.max(max, logits[row * vocab + v]);
            for (int v = 0; v < vocab; v++) z += Math.exp(logits[row * vocab + v] - max);
            sum += logits[row * vocab + choice[i]] - max - Math.log(z);
        }
        return sum;
    }

    /** Summed log-likelihood of a request as lm-evaluation-harness truncates it: the last maxSeqLen + 1 tokens. */
    private static double expected(LlamaModel model, MultipleChoice.Request r) {
        int keep = Math.min(r.context().length, CONFIG.maxSeqLen() + 1 - r.continuation().length);
        return logLikelihood(model, java.util.Arrays.copyOfRange(r.context(), r.context().length - keep,
                r.context().length), r.continuation());
    }

    @Test
    void choicesAreScoredByTheirTokensLogLikelihoodSummedPerCharacterAndAgainstTheUnconditionalContext() {
        SplittableRandom random = new SplittableRandom(5);
        int[] unconditionalContext = tokens(3, random);
        List<MultipleChoice.Item> items = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            List<MultipleChoice.Request> choices = new ArrayList<>(), unconditional = new ArrayList<>();
            int[] chars = new int[3 + i % 2];
            // The last item's context is longer than the model's context: it loses its start.
            int[] context = tokens(i == 6 ? 40 : 1 + random.nextInt(12), random);
            for (int c = 0; c < chars.length; c++) {
                int[] choice = tokens(1 + random.nextInt(5), random);
                choices.add(new MultipleChoice.Request(context, choice));
                unconditional.add(new MultipleChoice.Request(unconditionalContext, choice));
                chars[c] = 1 + random.nextInt(30);
            }
            items.add(new MultipleChoice.Item(choices, unconditional, chars, i % chars.length));
        }
        try (CpuBackend backend = new CpuBackend(2); LlamaModel model = model(backend, 2)) {
            MultipleChoice.Result r = MultipleChoice.evaluate(model, items, 5);
            int normalisedRight = 0, right = 0, ratioRight = 0;
            for (int i = 0; i < items.size(); i++) {
                MultipleChoice.Item item = items.get(i);
                int bestNormalised = 0, best = 0, bestRatio = 0;
                int n = item.choices().size();
                double[] conditional = new double[n], ratio = new double[n];
                for (int c = 0; c < n; c++) {
                    conditional[c] = expected(model, item.choices().get(c));
                    double unconditional = expected(model, item.unconditional().get(c));
                    ratio[c] = conditional[c] - unconditional;
                    assertEquals(conditional[c], r.logLikelihoods()[i][c], 1e-4 * Math.abs(conditional[c]), "item " + i + " choice " + c);
                    assertEquals(unconditional, r.unconditionalLogLikelihoods()[i][c], 1e-4 * Math.abs(unconditional));
                    if (conditional[c] / item.choiceChars()[c] > conditional[bestNormalised] / item.choiceChars()[bestNormalised]) {
                        bestNormalised = c;
                    }
                    if (conditional[c] > conditional[best]) best = c;
                    if (ratio[c] > ratio[bestRatio]) bestRatio = c;
                }
                if (bestNormalised == item.label()) normalisedRight++;
                if (best == item.label()) right++;
                if (bestRatio == item.label()) ratioRight++;
            }
            assertEquals(new MultipleChoice.Accuracy(normalisedRight, 7), r.normalised());
            assertEquals(new MultipleChoice.Accuracy(right, 7), r.unnormalised());
            assertEquals(new MultipleChoice.Accuracy(ratioRight, 7), r.ratio());
            assertEquals(1, r.truncatedItems());
        }
    }

    @Test
    void accuracyHasTheBinomialStandardError() {
        MultipleChoice.Accuracy a = new MultipleChoice.Accuracy(30, 120);
        assertEquals(0.25, a.value());
        assertEquals(Math.sqrt(0.25 * 0.75 / 120), a.standardError(), 1e-15);
    }

    @Test
    void badItemsAreRejected() {
        List<MultipleChoice.Request> two = List.of(new MultipleChoice.Request(new int[] {0}, new int[] {1}),
                new MultipleChoice.Request(new int[] {0}, new int[] {2}));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new MultipleChoice.Item(two, List.of(), new int[] {1, 1}, 2));
        assertTrue(e.getMessage().contains("label 2 is out of range [0, 2)"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new MultipleChoice.Item(two.subList(0, 1), List.of(),
                new int[] {1}, 0));
        assertThrows(IllegalArgumentException.class, () -> new MultipleChoice.Item(two, two.subList(0, 1),
                new int[] {1, 1}, 0));
        assertThrows(IllegalArgumentException.class, () -> new MultipleChoice.Request(new int[0], new int[] {1}));
        assertThrows(IllegalArgumentException.class, () -> new MultipleChoice.Request(new int[] {0}, new int[0]));
    }
}
