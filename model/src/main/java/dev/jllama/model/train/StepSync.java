package dev.jllama.model.train;

import dev.jllama.model.LlamaModel;
import dev.jllama.model.checkpoint.OptimizerState;
import java.io.IOException;

/**
 * What turns one rank's gradients into the world's step: the gradient reduction across data-parallel ranks, the
 * global gradient norm, and the optimizer update (replicated, or sharded under ZeRO-1). {@link LocalSync} is the
 * world of one rank; the Spark ranks implement it over the collective.
 */
public interface StepSync {

    int rank();

    int worldSize();

    /** Told, during the last micro-batch's backward pass, when each bucket of gradients is final. */
    LlamaModel.GradientListener gradientListener();

    /** Waits until every rank's gradients are summed into this rank's (its share of them, when sharded). */
    void reduceGradients() throws IOException;

    /** {@code local} summed over the ranks, identical on every rank. */
    double sumOverRanks(double local) throws IOException;

    /** L2 norm of the summed gradients, identical on every rank. */
    double gradientNorm() throws IOException;

    /** One AdamW step (1-based {@code step}) with clipping factor {@code clipScale}; parameters equal on every rank after. */
    void update(double lr, int step, float clipScale) throws IOException;

    /** Factor that clips the global norm to the optimizer's threshold. */
    float clipScale(double gradNorm);

    /**
     * The whole optimizer state for a checkpoint. Every rank calls it at the same step (sharded moments are
     * gathered); ranks that do not write checkpoints may get null.
     */
    OptimizerState checkpointState() throws IOException;

    /** Called after every step: the place to verify that ranks still hold the same parameters. */
    void afterStep(int step) throws IOException;
}
