package dev.jllama.model.train;

import dev.jllama.model.LlamaModel;
import dev.jllama.model.checkpoint.CheckpointStore;
import dev.jllama.model.checkpoint.TrainingState;
import dev.jllama.model.optim.AdamW;
import dev.jllama.model.optim.LrSchedule;
import java.io.IOException;
import java.util.List;
import java.util.function.Consumer;

/**
 * The training loop of one rank: micro-batches with gradient accumulation, global-norm clipping, AdamW on the
 * LLaMA schedule, periodic checkpoints. On the CPU backend a run resumed from a checkpoint continues bit for bit
 * as the uninterrupted run would.
 */
public final class Trainer {
    private final LlamaModel model;
    private final AdamW optimizer;
    private final TrainOptions options;
    private final LrSchedule schedule;
    private final int[] windows;

    public Trainer(LlamaModel model, AdamW optimizer, TrainOptions options) {
        this.model = model;
        this.optimizer = optimizer;
        this.options = options;
        this.schedule = new LrSchedule(options.peakLr(), options.warmupSteps(), options.steps(), options.minLrRatio());
        this.windows = new int[options.microBatch() * (options.seqLen() + 1)];
    }

    /** One optimizer step (0-based {@code step}) on the next batch of {@code source}. */
    public StepStats step(int step, BatchSource source) throws IOException {
        long start = System.nanoTime();
        model.zeroGradients();
        float gradScale = (float) (1.0 / options.tokensPerStep());
        double lossSum = 0;
        for (int micro = 0; micro < options.accumulation(); micro++) {
            source.next(windows, options.microBatch());
            lossSum += model.forwardBackward(windows, options.microBatch(), options.seqLen(), gradScale);
        }
        double gradNorm = optimizer.gradientNorm();
        double lr = schedule.at(step);
        optimizer.update(lr, step + 1, optimizer.clipScale(gradNorm));
        double seconds = (System.nanoTime() - start) / 1e9;
        return new StepStats(step + 1, lossSum / options.tokensPerStep(), lr, gradNorm,
                options.tokensPerStep() / seconds, seconds);
    }

    /**
     * Trains from {@code startStep} to {@code options.steps()}, checkpointing every {@code checkpointEvery} steps
     * and at the end when {@code store} is given.
     *
     * @return the stats of the last step, or null when there was nothing left to do
     */
    public StepStats run(int startStep, long tokensSeen, BatchSource source, CheckpointStore store, byte[] tokenizer,
                         Consumer<StepStats> progress) throws IOException {
        StepStats last = null;
        long tokens = tokensSeen;
        for (int step = startStep; step < options.steps(); step++) {
            last = step(step, source);
            tokens += options.tokensPerStep();
            if (!Double.isFinite(last.loss())) {
                throw new IllegalStateException("loss became " + last.loss() + " at step " + last.step()
                        + " (learning rate " + last.lr() + "); lower --lr or raise --warmup");
            }
            progress.accept(last);
            boolean end = last.step() == options.steps();
            boolean due = options.checkpointEvery() > 0 && last.step() % options.checkpointEvery() == 0;
            if (store != null && (end || due)) {
                TrainingState state = new TrainingState(model.config(), last.step(), options.seed(), tokens,
                        last.loss(), List.of(source.position()), options.toJson());
                store.save(state, model, optimizer, tokenizer, options.keepCheckpoints());
            }
        }
        return last;
    }
}
