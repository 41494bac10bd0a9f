package dev.jllama.model;

import dev.jllama.model.backend.Backend;
import java.util.SplittableRandom;

/**
 * Seeded, reproducible initialisation as common LLaMA trainers do it: matrices from N(0, 0.02), the two residual
 * projections of each block ({@code wo}, {@code w2}) scaled by {@code 1/sqrt(2 * layers)}, norm gains 1.
 * Each tensor draws from its own stream derived from the seed and its name, so the values do not depend on the
 * order or the set of tensors initialised.
 */
public final class Initializer {
    public static final double STD = 0.02;

    private Initializer() {}

    public static void initialize(LlamaModel model, long seed) {
        LlamaConfig config = model.config();
        Backend backend = model.backend();
        double residualStd = STD / Math.sqrt(2.0 * config.layers());
        for (Parameters.Param p : model.parameters().all()) {
            float[] values = new float[p.size()];
            if (!p.decay()) {
                java.util.Arrays.fill(values, 1f);
            } else {
                boolean residual = p.name().endsWith("attention.wo.weight") || p.name().endsWith("feed_forward.w2.weight");
                fillNormal(values, new SplittableRandom(seed ^ (p.name().hashCode() * 0x9E3779B97F4A7C15L)),
                        residual ? residualStd : STD);
            }
            backend.write(p.value(), 0, values, 0, values.length);
        }
    }

    /** Box–Muller normal samples; deterministic for a given generator state. */
    static void fillNormal(float[] out, SplittableRandom random, double std) {
        for (int i = 0; i < out.length; i += 2) {
            double u1 = 1.0 - random.nextDouble();
            double u2 = random.nextDouble();
            double radius = Math.sqrt(-2.0 * Math.log(u1)) * std;
            out[i] = (float) (radius * Math.cos(2 * Math.PI * u2));
            if (i + 1 < out.length) out[i + 1] = (float) (radius * Math.sin(2 * Math.PI * u2));
        }
    }
}
