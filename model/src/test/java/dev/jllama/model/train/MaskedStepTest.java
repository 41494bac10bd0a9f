package dev.jllama.model.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jllama.model.Initializer;
import dev.jllama.model.LlamaConfig;
import dev.jllama.model.LlamaModel;
import dev.jllama.model.Parameters;
import dev.jllama.model.backend.Backend;
import dev.jllama.model.backend.cpu.CpuBackend;
import dev.jllama.model.optim.AdamW;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Fine-tuning's loss mask in the training loop: the loss and update count exactly the targets the source marks. */
class MaskedStepTest {
    private static final LlamaConfig CONFIG = new LlamaConfig(32, 2, 4, 2, 97, 64, 1e-5f, 10000f, 16, false);
    private static final int SEQ = 16, MICRO = 3, ACCUMULATION = 2;

    /** {@link ResumeTest.CountingSource}'s windows, with the last {@code masked} targets of each window left out. */
    static final class MaskingSource implements BatchSource {
        private final ResumeTest.CountingSource tokens = new ResumeTest.CountingSource(null);
        private final int masked;
        /** Replaces each window's last token (a target only, never an input) when non-negative. */
        private final int lastToken;

        MaskingSource(int masked, int lastToken) {
            this.masked = masked;
            this.lastToken = lastToken;
        }

        @Override
        public void next(int[] dst, int windows) throws IOException {
            throw new UnsupportedOperationException();
        }

        @Override
        public void next(int[] dst, boolean[] lossMask, int windows, int seqLen) {
            tokens.next(dst, windows);
            for (int w = 0; w < windows; w++) {
                for (int t = 0; t < seqLen; t++) lossMask[w * seqLen + t] = t < seqLen - masked;
                if (lastToken >= 0) dst[w * (seqLen + 1) + seqLen] = lastToken;
            }
        }

        @Override
        public boolean masksLoss() {
            return true;
        }

        @Override
        public String position() {
            return tokens.position();
        }
    }

    private record Run(List<StepStats> stats, List<float[]> weights) {}

    private static Run train(BatchSource source, int steps) throws IOException {
        TrainOptions options = new TrainOptions(steps, SEQ, MICRO, ACCUMULATION, 1e-2, 1, 0.1, 0, 1, 42);
        try (Backend backend = new CpuBackend(2); LlamaModel model = new LlamaModel(CONFIG, backend);
             AdamW adamw = new AdamW(backend, model.parameters(), AdamW.Hyper.LLAMA)) {
            Initializer.initialize(model, 42);
            Trainer trainer = new Trainer(model, new LocalSync(adamw), options);
            List<StepStats> stats = new ArrayList<>();
            for (int s = 0; s < steps; s++) stats.add(trainer.step(s, source));
            List<float[]> weights = new ArrayList<>();
            for (Parameters.Param p : model.parameters().all()) {
                float[] host = new float[p.size()];
                backend.read(p.value(), 0, host, 0, host.length);
                weights.add(host);
            }
            return new Run(stats, weights);
        }
    }

    private static boolean same(Run a, Run b) {
        for (int i = 0; i < a.weights.size(); i++) if (!Arrays.equals(a.weights.get(i), b.weights.get(i))) return false;
        return true;
    }

    @Test
    void aMaskThatCountsEveryTargetIsTheUnmaskedStepBitForBit() throws IOException {
        Run plain = train(new ResumeTest.CountingSource(null), 3);
        Run masked = train(new MaskingSource(0, -1), 3);
        for (int s = 0; s < 3; s++) assertEquals(plain.stats.get(s).loss(), masked.stats.get(s).loss(), 0.0);
        assertTrue(same(plain, masked));
    }

    @Test
    void maskedTargetsNeitherCountInTheLossNorMoveTheWeights() throws IOException {
        Run a = train(new MaskingSource(4, 5), 2);
        Run b = train(new MaskingSource(4, 77), 2);
        assertEquals(a.stats.get(0).loss(), b.stats.get(0).loss(), 0.0);
        assertTrue(same(a, b), "a masked target changed the update");
        // Counted, the same change moves both: the comparison above can fail.
        Run c = train(new MaskingSource(0, 5), 2);
        Run d = train(new MaskingSource(0, 77), 2);
        assertFalse(c.stats.get(0).loss() == d.stats.get(0).loss());
        assertFalse(same(c, d));
    }

    @Test
    void theLossIsTheMeanOverCountedTargets() throws IOException {
        int masked = 5;
        Run run = train(new MaskingSource(masked, -1), 1);
        // The same step's windows, scored target by target by the forward pass alone, before any update.
        MaskingSource source = new MaskingSource(masked, -1);
        try (Backend backend = new CpuBackend(2); LlamaModel model = new LlamaModel(CONFIG, backend)) {
            Initializer.initialize(model, 42);
            double sum = 0;
            long counted = 0;
            for (int m = 0; m < ACCUMULATION; m++) {
                int[] windows = new int[MICRO * (SEQ + 1)];
                boolean[] mask = new boolean[MICRO * SEQ];
                source.next(windows, mask, MICRO, SEQ);
                int[] inputs = new int[MICRO * SEQ], targets = new int[MICRO * SEQ];
                for (int w = 0; w < MICRO; w++) {
                    for (int t = 0; t < SEQ; t++) {
                        inputs[w * SEQ + t] = windows[w * (SEQ + 1) + t];
                        targets[w * SEQ + t] = windows[w * (SEQ + 1) + t + 1];
                    }
                }
                float[] losses = new float[MICRO * SEQ];
                model.tokenLosses(inputs, targets, MICRO, SEQ, losses);
                for (int r = 0; r < losses.length; r++) {
                    if (mask[r]) {
                        sum += losses[r];
                        counted++;
                    }
                }
            }
            assertEquals((long) ACCUMULATION * MICRO * (SEQ - masked), counted);
            assertEquals(sum / counted, run.stats.get(0).loss(), 1e-6);
        }
    }
}
