package dev.jllama.model.bench;

import dev.jllama.model.train.BatchSource;
import java.util.SplittableRandom;

/** Uniform random token windows: benchmark throughput does not depend on the text. */
public final class RandomTokens implements BatchSource {
    private final SplittableRandom random;
    private final int vocab;
    private final int seqLen;

    public RandomTokens(int vocab, int seqLen, long seed) {
        this.random = new SplittableRandom(seed);
        this.vocab = vocab;
        this.seqLen = seqLen;
    }

    @Override
    public void next(int[] dst, int windows) {
        for (int i = 0; i < windows * (seqLen + 1); i++) dst[i] = random.nextInt(vocab);
    }

    @Override
    public String position() {
        return "random";
    }
}
