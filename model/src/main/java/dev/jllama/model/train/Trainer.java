package dev.jllama.model.train;

import dev.jllama.model.LlamaModel;
import dev.jllama.model.checkpoint.CheckpointStore;
import dev.jllama.model.checkpoint.TrainingState;
import dev.jllama.model.checkpoint.OptimizerState;
import dev.jllama.model.optim.LrSchedule;
import java.io.IOException;
import java.util.Collections;
import java.util.function.Consumer;
import java.util.function.IntConsumer;

/**
 * The training loop of one rank: micro-batches with gradient accumulation, the gradient reduction across ranks
 * ({@link StepSync}), global-norm clipping, AdamW on the LLaMA schedule, periodic checkpoints. On the CPU backend
 * a run resumed from a checkpoint continues bit for bit as the uninterrupted run would.
 */
public final class Trainer {
    private final LlamaModel model;
    private final StepSync sync;
    private final TrainOptions options;
    private final LrSchedule schedule;
    private final int[] windows;
    /** A masked step's micro-batches, read before its first backward (see {@link #maskedStep}). */
    private int[][] stepWindows;
    private boolean[][] stepMasks;
    private int[][] stepStarts;

    public Trainer(LlamaModel model, StepSync sync, TrainOptions options) {
        this.model = model;
        this.sync = sync;
        this.options = options;
        this.schedule = new LrSchedule(options.peakLr(), options.warmupSteps(), options.steps(), options.minLrRatio());
        this.windows = new int[options.microBatch() * (options.seqLen() + 1)];
    }

    /** Tokens of one optimizer step over all ranks. */
    public long globalTokensPerStep() {
        return options.tokensPerStep() * sync.worldSize();
    }

    /** One optimizer step (0-based {@code step}) on the next batch of {@code source}. */
    public StepStats step(int step, BatchSource source) throws IOException {
        if (source.masksLoss()) return maskedStep(step, source);
        long start = System.nanoTime();
        long tokens = globalTokensPerStep();
        model.zeroGradients();
        float gradScale = (float) (1.0 / tokens);
        double lossSum = 0;
        for (int micro = 0; micro < options.accumulation(); micro++) {
            source.next(windows, options.microBatch());
            boolean last = micro == options.accumulation() - 1;
            lossSum += model.forwardBackward(windows, options.microBatch(), options.seqLen(), gradScale,
                    last ? sync.gradientListener() : LlamaModel.GradientListener.NONE);
        }
        return finish(step, start, tokens, lossSum, tokens);
    }

    /**
     * A step whose loss is the mean over the targets the source counts (fine-tuning: response tokens only), over
     * all ranks, as a framework's mean cross-entropy with the other labels ignored: every micro-batch of the step is
     * read first, the counted targets are summed over the ranks, and each one's gradient is scaled by one over that
     * sum.
     */
    private StepStats maskedStep(int step, BatchSource source) throws IOException {
        long start = System.nanoTime();
        int micro = options.microBatch(), seqLen = options.seqLen();
        boolean packed = source.packsExamples();
        if (stepWindows == null) {
            stepWindows = new int[options.accumulation()][windows.length];
            stepMasks = new boolean[options.accumulation()][micro * seqLen];
            stepStarts = new int[options.accumulation()][micro * seqLen];
        }
        long counted = 0;
        for (int m = 0; m < options.accumulation(); m++) {
            if (packed) source.next(stepWindows[m], stepMasks[m], stepStarts[m], micro, seqLen);
            else source.next(stepWindows[m], stepMasks[m], micro, seqLen);
            for (boolean b : stepMasks[m]) if (b) counted++;
        }
        double globalCounted = sync.sumOverRanks(counted);
        if (globalCounted <= 0) {
            throw new IllegalStateException("step " + (step + 1) + " has no target that counts in the loss");
        }
        model.zeroGradients();
        float gradScale = (float) (1.0 / globalCounted);
        double lossSum = 0;
        for (int m = 0; m < options.accumulation(); m++) {
            boolean last = m == options.accumulation() - 1;
            lossSum += model.forwardBackward(stepWindows[m], stepMasks[m], packed ? stepStarts[m] : null, micro,
                    seqLen, gradScale,
                    last ? sync.gradientListener() : LlamaModel.GradientListener.NONE);
        }
        return finish(step, start, globalTokensPerStep(), lossSum, globalCounted);
    }

    /** Reduction, clipping and update after the step's backward passes; the loss is the summed loss over {@code lossTokens}. */
    private StepStats finish(int step, long start, long tokens, double lossSum, double lossTokens) throws IOException {
        sync.reduceGradients();
        double loss = sync.sumOverRanks(lossSum) / lossTokens;
        double gradNorm = sync.gradientNorm();
        double lr = schedule.at(step);
        sync.update(lr, step + 1, sync.clipScale(gradNorm));
        sync.afterStep(step + 1);
        double seconds = (System.nanoTime() - start) / 1e9;
        return new StepStats(step + 1, loss, lr, gradNorm, tokens / seconds, seconds);
    }

    /** The options a checkpoint records: these, and the LoRA adapters' spec when the model has them. */
    private com.fasterxml.jackson.databind.node.ObjectNode recordedOptions() {
        var node = options.toJson();
        if (model.lora() != null) node.set("lora", model.lora().spec().toJson());
        return node;
    }

    /**
     * Trains from {@code startStep} to {@code options.steps()}, checkpointing every {@code checkpointEvery} steps
     * and at the end when {@code store} is given (rank 0 writes; every rank takes part in gathering the state),
     * telling {@code afterCheckpoint} each step it saved.
     *
     * @return the stats of the last step, or null when there was nothing left to do
     */
    public StepStats run(int startStep, long tokensSeen, BatchSource source, CheckpointStore store, byte[] tokenizer,
                         Consumer<StepStats> progress, IntConsumer afterCheckpoint) throws IOException {
        StepStats last = null;
        long tokens = tokensSeen;
        for (int step = startStep; step < options.steps(); step++) {
            last = step(step, source);
            tokens += globalTokensPerStep();
            if (!Double.isFinite(last.loss())) {
                throw new IllegalStateException("loss became " + last.loss() + " at step " + last.step()
                        + " (learning rate " + last.lr() + "); lower --lr or raise --warmup");
            }
            progress.accept(last);
            boolean end = last.step() == options.steps();
            boolean due = options.checkpointEvery() > 0 && last.step() % options.checkpointEvery() == 0;
            if (store != null && (end || due)) {
                OptimizerState moments = sync.checkpointState();
                if (sync.rank() == 0) {
                    // Every rank is at the same place of the one global data stream.
                    TrainingState state = new TrainingState(model.config(), last.step(), options.seed(), tokens,
                            last.loss(), Collections.nCopies(sync.worldSize(), source.position()), recordedOptions());
                    store.save(state, model, moments, tokenizer, options.keepCheckpoints());
                }
                afterCheckpoint.accept(last.step());
            }
        }
        return last;
    }
}
