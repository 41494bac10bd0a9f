package dev.jllama.model.train;

import dev.jllama.model.LlamaModel;
import dev.jllama.model.checkpoint.OptimizerState;
import dev.jllama.model.optim.AdamW;

/** The world of one rank: nothing to reduce, AdamW on the whole model. */
public final class LocalSync implements StepSync {
    private final AdamW optimizer;

    public LocalSync(AdamW optimizer) {
        this.optimizer = optimizer;
    }

    @Override
    public int rank() {
        return 0;
    }

    @Override
    public int worldSize() {
        return 1;
    }

    @Override
    public LlamaModel.GradientListener gradientListener() {
        return LlamaModel.GradientListener.NONE;
    }

    @Override
    public void reduceGradients() {}

    @Override
    public double sumOverRanks(double local) {
        return local;
    }

    @Override
    public double gradientNorm() {
        return optimizer.gradientNorm();
    }

    @Override
    public void update(double lr, int step, float clipScale) {
        optimizer.update(lr, step, clipScale);
    }

    @Override
    public float clipScale(double gradNorm) {
        return optimizer.clipScale(gradNorm);
    }

    @Override
    public OptimizerState checkpointState() {
        return optimizer.download();
    }

    @Override
    public void afterStep(int step) {}
}
