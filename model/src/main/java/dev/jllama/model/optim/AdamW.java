package dev.jllama.model.optim;

import dev.jllama.model.Parameters;
import dev.jllama.model.backend.AdamWStep;
import dev.jllama.model.backend.Backend;
import dev.jllama.model.backend.Tensor;
import dev.jllama.model.checkpoint.OptimizerState;
import java.util.ArrayList;
import java.util.List;

/**
 * AdamW as in the LLaMA paper: β1 0.9, β2 0.95, ε 1e-8, decoupled weight decay 0.1 on matrices (not on norm
 * gains), global-norm gradient clipping at 1.0. The moments live on the backend next to the parameters.
 */
public final class AdamW implements AutoCloseable {

    public record Hyper(float beta1, float beta2, float eps, float weightDecay, float clipNorm) {
        public static final Hyper LLAMA = new Hyper(0.9f, 0.95f, 1e-8f, 0.1f, 1.0f);

        /** Factor that brings the global norm down to the clip threshold (1 when already below). */
        public float clipScale(double gradNorm) {
            if (clipNorm <= 0 || gradNorm <= clipNorm) return 1f;
            return (float) (clipNorm / (gradNorm + 1e-6));
        }

        /** The step's scalars for a tensor with ({@code decay}) or without weight decay. */
        public AdamWStep step(double lr, int step, float gradScale, boolean decay) {
            return new AdamWStep((float) lr, beta1, beta2, eps, decay ? weightDecay : 0f, step, gradScale);
        }
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

    public Hyper hyper() {
        return hyper;
    }

    /** The moments copied to host memory, for a checkpoint. */
    public OptimizerState download() {
        List<float[]> m = new ArrayList<>(), v = new ArrayList<>();
        for (int i = 0; i < firstMoments.size(); i++) {
            m.add(download(firstMoments.get(i)));
            v.add(download(secondMoments.get(i)));
        }
        return new OptimizerState(m, v);
    }

    private float[] download(Tensor t) {
        float[] host = new float[t.size()];
        backend.read(t, 0, host, 0, host.length);
        return host;
    }

    /** Replaces the moments with {@code state}'s (same parameters, same order). */
    public void upload(OptimizerState state) {
        for (int i = 0; i < firstMoments.size(); i++) {
            Tensor m = firstMoments.get(i), v = secondMoments.get(i);
            backend.write(m, 0, state.firstMoments().get(i), 0, m.size());
            backend.write(v, 0, state.secondMoments().get(i), 0, v.size());
        }
    }

    /** Global L2 norm of all gradients. */
    public double gradientNorm() {
        List<Tensor> grads = new ArrayList<>();
        for (Parameters.Param p : params.all()) grads.add(p.grad());
        return Math.sqrt(backend.sumOfSquares(grads));
    }

    /** Factor that brings the global norm down to the clip threshold (1 when already below). */
    public float clipScale(double gradNorm) {
        return hyper.clipScale(gradNorm);
    }

    /**
     * Applies one update to every parameter.
     *
     * @param step 1-based step number (bias correction)
     */
    public void update(double lr, int step, float gradScale) {
        List<Tensor> values = new ArrayList<>(), grads = new ArrayList<>();
        List<AdamWStep> steps = new ArrayList<>();
        for (Parameters.Param p : params.all()) {
            values.add(p.value());
            grads.add(p.grad());
            steps.add(hyper.step(lr, step, gradScale, p.decay()));
        }
        backend.adamw(values, grads, firstMoments, secondMoments, steps);
    }

    @Override
    public void close() {
        for (Tensor t : firstMoments) backend.free(t);
        for (Tensor t : secondMoments) backend.free(t);
    }
}
