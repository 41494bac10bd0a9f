package dev.jllama.model.generate;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks the next token from logits: greedy (the first largest logit) at temperature 0, otherwise a draw from
 * {@code softmax(logits / temperature)} restricted to the {@code topK} most likely tokens (0: all) and then to the
 * smallest set of most likely tokens whose probability reaches {@code topP} (1: all). Draws come from a
 * {@link SplittableRandom} seeded with {@code seed}, so a seed replays a generation exactly.
 */
public final class Sampler {
    private final double temperature;
    private final int topK;
    private final double topP;
    private final SplittableRandom random;

    public Sampler(double temperature, int topK, double topP, long seed) {
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("--temperature must be >= 0, got " + temperature);
        }
        if (topK < 0) throw new IllegalArgumentException("--top-k must be >= 0 (0: no limit), got " + topK);
        if (!(topP > 0 && topP <= 1)) throw new IllegalArgumentException("--top-p must be in (0, 1], got " + topP);
        this.temperature = temperature;
        this.topK = topK;
        this.topP = topP;
        this.random = new SplittableRandom(seed);
    }

    public boolean greedy() {
        return temperature == 0;
    }

    public int next(float[] logits) {
        if (greedy()) return argmax(logits);
        // Token ids by descending logit, ties by ascending id: the order top-k and top-p cut.
        long[] keys = new long[logits.length];
        for (int id = 0; id < logits.length; id++) keys[id] = ((long) descending(logits[id]) << 32) | id;
        Arrays.sort(keys);
        int kept = topK > 0 ? Math.min(topK, logits.length) : logits.length;
        double max = logits[(int) keys[0]];
        double[] weights = new double[kept];
        double total = 0;
        for (int i = 0; i < kept; i++) {
            weights[i] = Math.exp((logits[(int) keys[i]] - max) / temperature);
            total += weights[i];
        }
        if (topP < 1) {
            double cumulative = 0;
            int cut = kept;
            for (int i = 0; i < kept; i++) {
                cumulative += weights[i];
                if (cumulative >= topP * total) {
                    cut = i + 1;
                    break;
                }
            }
            kept = cut;
            total = 0;
            for (int i = 0; i < kept; i++) total += weights[i];
        }
        double u = random.nextDouble() * total;
        for (int i = 0; i < kept - 1; i++) {
            u -= weights[i];
            if (u < 0) return (int) keys[i];
        }
        return (int) keys[kept - 1];
    }

    /** An int whose ascending order is the descending order of {@code x} (NaN last). */
    private static int descending(float x) {
        int bits = Float.floatToIntBits(x);
        int ascending = bits < 0 ? bits ^ 0x7fffffff : bits;
        return Float.isNaN(x) ? Integer.MAX_VALUE : -1 - ascending;
    }

    static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
        return best;
    }
}
