package dev.jllama.model.optim;

import dev.jllama.model.Parameters;
import dev.jllama.model.backend.AdamWStep;
import dev.jllama.model.backend.Backend;
import dev.jllama.model.backend.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * AdamW as in the LLaMA paper: β1 0.9, β2 0.95, ε 1e-8, decoupled weight decay 0.1 on matrices (not on norm
 * gains), global-norm gradient clipping at 1.0. The moments live on the backend next to the parameters.
 */
public final class AdamW implements AutoCloseable {

    public record Hyper(float beta1, float beta2, float eps, float weightDecay, float clipNorm) {
        public static final Hyper LLAMA = new Hyper(0.9f, 0.95f, 1e-8f, 0.1f, 1.0f);
    }

    private final Backend backend;
    private final Parameters params;
    private final Hyper hyper;
    private final List<Tensor> firstMoments = new ArrayList<>();
    private final List<Tensor> secondMoments = new ArrayList<>();

    public AdamW(Backend backend, Parameters params, Hyper hyper) {
        this.backend = backend;
        this.params = params;
        this.hyper = hyper;
        for (Parameters.Param p : params.all()) {
            firstMoments.add(backend.allocate("adam_m." + p.name(), p.size()));
            secondMoments.add(backend.allocate("adam_v." + p.name(), p.size()));
        }
    }

    public List<Tensor> firstMoments() {
        return firstMoments;
    }

    public List<Tensor> secondMoments() {
        return secondMoments;
    }

    /** Global L2 norm of all gradients. */
    public double gradientNorm() {
        double squares = 0;
        for (Parameters.Param p : params.all()) squares += backend.sumOfSquares(p.grad());
        return Math.sqrt(squares);
    }

    /** Factor that brings the global norm down to the clip threshold (1 when already below). */
    public float clipScale(double gradNorm) {
        if (hyper.clipNorm() <= 0 || gradNorm <= hyper.clipNorm()) return 1f;
        return (float) (hyper.clipNorm() / (gradNorm + 1e-6));
    }

    /**
     * Applies one update to every parameter.
     *
     * @param step 1-based step number (bias correction)
     */
    public void update(double lr, int step, float gradScale) {
        AdamWStep base = new AdamWStep((float) lr, hyper.beta1(), hyper.beta2(), hyper.eps(), 0f, step, gradScale);
        List<Parameters.Param> all = params.all();
        for (int i = 0; i < all.size(); i++) {
            Parameters.Param p = all.get(i);
            backend.adamw(p.value(), p.grad(), firstMoments.get(i), secondMoments.get(i),
                    base.withWeightDecay(p.decay() ? hyper.weightDecay() : 0f));
        }
    }

    @Override
    public void close() {
        for (Tensor t : firstMoments) backend.free(t);
        for (Tensor t : secondMoments) backend.free(t);
    }
}
