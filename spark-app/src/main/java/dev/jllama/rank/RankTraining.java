package dev.jllama.rank;

import dev.jllama.collective.Collective;
import dev.jllama.collective.CollectiveOptions;
import dev.jllama.collective.PeerListener;
import dev.jllama.data.finetune.InstructionWindows;
import dev.jllama.data.mixture.TrainingData;
import dev.jllama.data.shard.RankSlice;
import dev.jllama.data.shard.WindowSource;
import dev.jllama.model.Initializer;
import dev.jllama.model.LlamaConfig;
import dev.jllama.model.LlamaModel;
import dev.jllama.model.ModelFlops;
import dev.jllama.model.ParameterLayout;
import dev.jllama.model.backend.Backend;
import dev.jllama.model.backend.Backends;
import dev.jllama.model.backend.PeakFlops;
import dev.jllama.model.checkpoint.CheckpointStore;
import dev.jllama.model.checkpoint.OptimizerState;
import dev.jllama.model.checkpoint.TrainingState;
import dev.jllama.model.eval.Perplexity;
import dev.jllama.model.optim.AdamW;
import dev.jllama.model.optim.ShardedAdamW;
import dev.jllama.model.train.BatchSource;
import dev.jllama.model.train.LocalSync;
import dev.jllama.model.train.StepStats;
import dev.jllama.model.train.StepSync;
import dev.jllama.model.train.TrainOptions;
import dev.jllama.model.train.Trainer;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.IntConsumer;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * The life of one rank, the same in every barrier task: meet the peers, build the backend on this task's GPU (or
 * its CPU cores), initialise or resume, train on this rank's slice of the global data stream, and report.
 */
public final class RankTraining {
    private static final Logger LOG = LogManager.getLogger(RankTraining.class);

    private RankTraining() {}

    public static RankResult run(TrainPlan plan, RankEnvironment env) throws Exception {
        int rank = env.rank(), world = env.worldSize();
        Configuration conf = plan.hadoop().value();
        LlamaConfig config = plan.modelConfig();
        TrainOptions options = plan.trainOptions();
        int device = env.gpus().isEmpty() ? plan.device() : Integer.parseInt(env.gpus().get(0));
        int threads = plan.threads() > 0 ? plan.threads() : env.cpus();

        try (ProgressSender progress = new ProgressSender(rank == 0 ? plan.progress() : null, plan.secret());
             Collective collective = world == 1 ? null : meetPeers(plan, env, progress);
             Backend backend = Backends.create(plan.backend(), device, threads, plan.matmulPrecision());
             LlamaModel model = new LlamaModel(config, backend)) {
            Initializer.initialize(model, options.seed());
            if (plan.loraSpec() != null) model.enableLora(plan.loraSpec(), options.seed());
            Optional<PeakFlops> peak = peakFlops(backend, rank, progress);
            RunMonitor.Utilisation utilisation = new RunMonitor.Utilisation(
                    ModelFlops.perToken(config, options.seqLen()), worldPeakFlops(peak, collective));
            boolean sharded = plan.zero() && world > 1;
            ParameterLayout layout = new ParameterLayout(model.trainable());
            try (AdamW replicated = sharded ? null : new AdamW(backend, model.trainable(), AdamW.Hyper.LLAMA);
                 ShardedAdamW zero = sharded ? new ShardedAdamW(backend, layout,
                         CollectiveSync.ownedRanges(layout, world, rank), AdamW.Hyper.LLAMA) : null) {
                StepSync sync = world == 1 ? new LocalSync(replicated)
                        : sharded ? CollectiveSync.sharded(collective, model, zero, AdamW.Hyper.LLAMA, plan.checkEvery())
                        : CollectiveSync.replicated(collective, model, replicated, plan.checkEvery());
                CheckpointStore store = new CheckpointStore(plan.checkpoints(), conf);
                // A retried run (a rank was lost) continues from the newest intact checkpoint.
                Resume resume = plan.resume() ? resume(store, conf, config, options, model, replicated, zero, world,
                        warning -> { if (rank == 0) progress.line(warning); }) : Resume.FRESH;
                if (rank == 0 && resume.message() != null) progress.line(resume.message());
                if (plan.finetune() && resume.position() == null) {
                    // A fine-tuning run starts from its initial checkpoint's weights (its moments start at zero).
                    CheckpointStore.loadWeights(plan.init(), conf, model);
                    if (rank == 0) progress.line("fine-tuning from " + plan.init());
                }

                TrainingData data = plan.finetune() ? null : TrainingData.open(plan.data(), conf);
                InstructionWindows examples = plan.finetune() ? InstructionWindows.read(plan.data(), conf) : null;
                if (examples != null && examples.packed() && !backend.masksAttentionPerExample()) {
                    throw new IllegalArgumentException("finetune --pack: the " + backend.name() + " backend has no"
                            + " attention masked per example; fine-tune without --pack (one example per window)");
                }
                if (examples != null && examples.seqLen() != options.seqLen()) {
                    throw new IllegalArgumentException(plan.data() + " holds windows of " + examples.seqLen()
                            + " tokens, the run's --seq-len is " + options.seqLen());
                }
                byte[] tokenizerBytes = plan.finetune() ? CheckpointStore.readTokenizer(plan.init(), conf).orElseThrow(
                        () -> new IOException("checkpoint " + plan.init() + " has no " + CheckpointStore.TOKENIZER_FILE))
                        : data.tokenizerBytes();
                if (rank == 0 && examples != null) {
                    progress.line(String.format("model: %,d parameters (dim %d, layers %d, heads %d/%d kv, vocab %d); "
                                    + "%d rank%s; rank 0 on %s, backend %s (%s)", model.parameters().count(),
                            config.dim(), config.layers(), config.heads(), config.kvHeads(), config.vocabSize(), world,
                            world == 1 ? "" : "s", env.host(), backend.name(), backend.device()));
                    progress.line(String.format("data: %,d windows of %d tokens (%s); per rank"
                                    + " %d x %d tokens per micro-batch, %d micro-batches per step; %.2f epochs in %d"
                                    + " steps", examples.windows(), options.seqLen() + 1, examples.packed()
                                    ? "examples packed, attention masked per example" : "one example each",
                            options.microBatch(),
                            options.seqLen(), options.accumulation(), (double) options.steps() * options.microBatch()
                                    * options.accumulation() * world / examples.windows(), options.steps()));
                    long trainable = model.trainable().count();
                    progress.line(String.format("trainable: %,d of %,d parameters (%s); AdamW moments %.2f MiB per"
                                    + " rank%s", trainable, model.parameters().count(), model.lora() == null
                                    ? "all: full fine-tuning" : String.format("LoRA rank %d, alpha %.4g on %s; the"
                                    + " base weights frozen", model.lora().spec().rank(), model.lora().spec().alpha(),
                                    String.join(",", model.lora().spec().targets())),
                            (sharded ? 8.0 * zero.ownedElements() : 8.0 * trainable) / 1048576.0,
                            model.lora() == null ? "" : String.format(" (full fine-tuning: %.2f MiB)",
                                    8.0 * model.parameters().count() / 1048576.0)));
                    if (sync instanceof CollectiveSync c) progress.line(c.memoryReport());
                } else if (rank == 0) {
                    long activationBytes = model.activations(options.microBatch(), options.seqLen()).bytes();
                    progress.line(String.format("model: %,d parameters (dim %d, layers %d, heads %d/%d kv, vocab %d), "
                                    + "%.3g model FLOPs per token; %d rank%s; rank 0 on %s, backend %s (%s); %s",
                            model.parameters().count(), config.dim(), config.layers(), config.heads(), config.kvHeads(),
                            config.vocabSize(), utilisation.flopsPerToken(), world, world == 1 ? "" : "s", env.host(),
                            backend.name(), backend.device(), peak.map(p -> "peak " + p.describe() + " per rank ("
                                    + p.source() + ")").orElse("no peak FLOP/s for this device: MFU not reported")));
                    progress.line(String.format("data %s: %,d training tokens; per rank %d x %d tokens per micro-batch, "
                                    + "%d micro-batches per step; %,d tokens per step in all; activations %.1f MiB "
                                    + "(%.1f KiB per token in %s)",
                            data.describe(), data.tokens("train"), options.microBatch(), options.seqLen(),
                            options.accumulation(), options.tokensPerStep() * world, activationBytes / 1048576.0,
                            activationBytes / 1024.0 / ((long) options.microBatch() * options.seqLen()),
                            backend.precision().label()));
                    if (sync instanceof CollectiveSync c) progress.line(c.memoryReport());
                }

                // Rank 0 evaluates the same validation windows at every checkpoint; they depend only on the dataset.
                Validation validation = rank == 0 && data != null ? Validation.open(data, options, plan.evalBatches())
                        : null;
                Perplexity.Result[] lastValidation = new Perplexity.Result[1];

                Trainer trainer = new Trainer(model, sync, options);
                Throughput throughput = new Throughput(resume.step(), trainer.globalTokensPerStep());
                StepStats last;
                RankSlice slice = new RankSlice(rank, world, options.microBatch() * options.accumulation());
                Map<String, Map<String, Object>> proportions;
                long bytesRead = 0;
                long bytesTrained = 0;
                RunMonitor monitor = null; // rank 0's progress messages, metrics.jsonl and loss.png
                double[] firstLoss = {Double.NaN};
                try (WindowSource windows = data == null ? null : data.windows("train", options.seqLen(),
                        options.seed(), slice, resume.position())) {
                    InstructionWindows.Reader exampleReader = examples == null ? null
                            : examples.reader(options.seed(), slice, resume.position());
                    TimedBatchSource batches = windows != null ? new WindowBatchSource(windows)
                            : new InstructionBatchSource(exampleReader, examples.packed());
                    if (rank == 0) {
                        String runDir = new Path(plan.checkpoints()).getParent().toString();
                        MetricsLog metrics = MetricsLog.open(runDir, conf, plan.resume(), resume.step());
                        monitor = new RunMonitor(progress, metrics, openEventFile(runDir, conf, metrics, env.host(),
                                progress), runDir, conf, new RunMonitor.Schedule(options.steps(), resume.step(),
                                resume.tokensSeen(), trainer.globalTokensPerStep(), options.checkpointEvery(),
                                plan.logEvery()), utilisation,
                                sync instanceof CollectiveSync c ? c::waitSeconds : () -> 0, batches::waitSeconds);
                    }
                    RunMonitor rank0 = monitor;
                    IntConsumer afterCheckpoint = step -> {
                        if (validation == null) return;
                        lastValidation[0] = validation.evaluate(model);
                        progress.line(validation.describe(step, lastValidation[0]));
                        rank0.validation(lastValidation[0]);
                    };
                    last = trainer.run(resume.step(), resume.tokensSeen(), batches, store, tokenizerBytes,
                            stats -> {
                                if (Double.isNaN(firstLoss[0])) firstLoss[0] = stats.loss();
                                throughput.add(stats);
                                if (rank0 != null) rank0.step(stats, windows != null ? windows.report() : Map.of());
                            }, afterCheckpoint);
                    proportions = windows != null ? windows.report()
                            : Map.of("instructions", Map.of("windows", examples.windows(), "epochs", exampleReader.epochs()));
                    if (windows != null) {
                        bytesRead = windows.bytesRead();
                        bytesTrained = windows.bytesTrained();
                    }
                } catch (Exception e) {
                    if (monitor != null) monitor.closeEventFile(); // this attempt's; a retried one starts its own
                    throw e;
                }
                if (last == null && rank == 0) {
                    progress.line("nothing to do: the checkpoint is already at step " + resume.step() + " of "
                            + options.steps());
                }
                if (validation != null && lastValidation[0] == null) {
                    lastValidation[0] = validation.evaluate(model);
                    progress.line(validation.describe(resume.step(), lastValidation[0]));
                    monitor.validation(lastValidation[0]);
                }
                if (monitor != null) monitor.finish();
                Perplexity.Result val = lastValidation[0];
                Double tokensPerS = throughput.tokensPerSecond(last);
                long momentBytes = sharded ? 8L * zero.ownedElements() : 8L * model.trainable().count();
                return new RankResult(rank, env.host(), List.copyOf(env.gpus()), backend.name(), backend.device(), resume.step(),
                        options.steps(), last == null ? null : last.loss(), tokensPerS,
                        tokensPerS == null ? null : utilisation.at(tokensPerS),
                        peak.map(PeakFlops::flopsPerSecond).orElse(null),
                        val == null ? null : val.meanLoss(), val == null ? null : val.perplexity(),
                        val == null ? null : val.bitsPerByte(),
                        model.parameters().count(), model.activations(options.microBatch(), options.seqLen()).bytes(),
                        momentBytes, sync instanceof CollectiveSync c ? c.waitSeconds() : 0, proportions,
                        rank == 0 ? store.latest().map(Path::toString).orElse(null) : null,
                        Double.isNaN(firstLoss[0]) ? null : firstLoss[0], model.trainable().count(), bytesRead,
                        bytesTrained);
            }
        }
    }

    /** This rank's backend's peak FLOP/s; a failing measurement costs the MFU, not the run. */
    private static Optional<PeakFlops> peakFlops(Backend backend, int rank, ProgressSender progress) {
        try {
            return backend.peakFlops();
        } catch (RuntimeException e) {
            LOG.warn("rank {}: cannot determine the backend's peak FLOP/s; MFU is not reported", rank, e);
            if (rank == 0) progress.line("warning: cannot determine the peak FLOP/s (" + e + "): MFU not reported");
            return Optional.empty();
        }
    }

    /**
     * The peak FLOP/s of all ranks together, each rank's own (ranks may run on different machines), or null when
     * any rank has none. Every rank calls it at the same point: with several ranks it is a collective operation.
     */
    private static Double worldPeakFlops(Optional<PeakFlops> mine, Collective collective) throws IOException {
        double[] peakAndMissing = {mine.map(PeakFlops::flopsPerSecond).orElse(0.0), mine.isPresent() ? 0 : 1};
        if (collective != null) peakAndMissing = collective.allReduceDoubles(peakAndMissing);
        return peakAndMissing[1] > 0 ? null : peakAndMissing[0];
    }

    /** Rank 0's TensorBoard event file for this attempt, or null (reported) when it cannot be started. */
    private static TensorBoardLog openEventFile(String runDir, Configuration conf, MetricsLog metrics, String host,
                                                ProgressSender progress) {
        try {
            return TensorBoardLog.open(runDir, conf, metrics, host);
        } catch (IOException | RuntimeException e) {
            LOG.warn("cannot start the TensorBoard event file in {}", runDir, e);
            progress.line("warning: cannot start the TensorBoard event file in " + runDir + "/"
                    + TensorBoardLog.DIRECTORY + ": " + e);
            return null;
        }
    }

    private static Collective meetPeers(TrainPlan plan, RankEnvironment env, ProgressSender progress)
            throws IOException {
        PeerListener listener = PeerListener.open(env.host());
        try {
            List<String> addresses = env.allGather(listener.address());
            if (env.rank() == 0) progress.line("ring: " + String.join(" -> ", addresses));
            CollectiveOptions options = new CollectiveOptions(plan.collectiveTimeout(),
                    CollectiveOptions.defaults().chunkBytes());
            return Collective.connect(listener, env.rank(), addresses, plan.secret(), options);
        } catch (IOException | RuntimeException e) {
            listener.close();
            throw e;
        }
    }

    /** Where training starts: fresh, or the newest complete checkpoint. */
    private record Resume(int step, long tokensSeen, String position, String message) {
        static final Resume FRESH = new Resume(0, 0, null, null);
    }

    private static Resume resume(CheckpointStore store, Configuration conf, LlamaConfig config, TrainOptions options,
                                 LlamaModel model, AdamW replicated, ShardedAdamW zero, int world,
                                 Consumer<String> warn) throws IOException {
        Optional<Resume> loaded = store.loadNewest(dir -> load(dir, conf, config, options, model, replicated, zero,
                world), warn);
        return loaded.orElseGet(() -> new Resume(0, 0, null,
                "--resume: no usable checkpoint in " + store.root() + ", starting from scratch"));
    }

    private static Resume load(String dir, Configuration conf, LlamaConfig config, TrainOptions options,
                               LlamaModel model, AdamW replicated, ShardedAdamW zero, int world) throws IOException {
        TrainingState state = CheckpointStore.readState(dir, conf);
        if (!state.config().equals(config)) {
            throw new IllegalArgumentException("checkpoint " + dir + " is for model " + state.config().toJson()
                    + ", not " + config.toJson());
        }
        if (state.seed() != options.seed()) {
            throw new IllegalArgumentException("checkpoint " + dir + " was trained with --seed " + state.seed()
                    + ", not " + options.seed());
        }
        CheckpointStore.loadWeights(dir, conf, model);
        OptimizerState moments = CheckpointStore.readMoments(dir, conf, model.trainable());
        if (zero != null) zero.uploadMoments(moments.firstMoments(), moments.secondMoments());
        else replicated.upload(moments);
        int savedRanks = state.dataPositions().size();
        String message = "resuming from " + dir + " at step " + state.step();
        if (savedRanks != world) {
            message += String.format("; it was written by %d rank%s, this run has %d: optimizer state re-sharded, "
                            + "data continues after the %,d tokens seen", savedRanks, savedRanks == 1 ? "" : "s", world,
                    state.tokensSeen());
        }
        return new Resume(state.step(), state.tokensSeen(), state.dataPositions().get(0), message);
    }

    /**
     * Validation during training: at most {@code batches} micro-batches of the validation split's windows, spread
     * evenly over it in stored order ({@link TrainingData#evalWindows}), so every run and every seed is measured on
     * the same tokens; evaluated with the same code as {@code llama eval}.
     */
    private record Validation(List<int[]> windows, int microBatch, int[] tokenBytes) {
        /** Null when there is nothing to evaluate ({@code batches} 0, or no validation window). */
        static Validation open(TrainingData data, TrainOptions options, int batches) throws IOException {
            if (batches <= 0 || data.tokens("val") <= options.seqLen()) return null;
            List<int[]> windows = data.evalWindows("val", options.seqLen(), (long) batches * options.microBatch());
            if (windows.isEmpty()) return null;
            return new Validation(windows, options.microBatch(), data.tokenizer().textBytesPerToken());
        }

        Perplexity.Result evaluate(LlamaModel model) {
            return Perplexity.evaluate(model, windows, microBatch, tokenBytes);
        }

        String describe(int step, Perplexity.Result r) {
            return String.format("step %5d | validation loss %.4f | perplexity %.2f | bits per byte %.4f "
                    + "(%,d windows, %,d tokens)", step, r.meanLoss(), r.perplexity(), r.bitsPerByte(), r.windows(),
                    r.tokens());
        }
    }

    /** Tokens per second over the run, leaving out the first step (JIT warm-up, first loads). */
    private static final class Throughput {
        private final int firstStep;
        private final long tokensPerStep;
        private long tokens;
        private double seconds;

        Throughput(int firstStep, long tokensPerStep) {
            this.firstStep = firstStep;
            this.tokensPerStep = tokensPerStep;
        }

        void add(StepStats stats) {
            if (stats.step() > firstStep + 1) {
                tokens += tokensPerStep;
                seconds += stats.seconds();
            }
        }

        Double tokensPerSecond(StepStats last) {
            if (seconds > 0) return tokens / seconds;
            return last == null ? null : last.tokensPerS();
        }
    }

    /** A batch source that says how long the training loop waited for it. */
    private interface TimedBatchSource extends BatchSource {
        double waitSeconds();
    }

    /**
     * Fine-tuning's instruction windows ({@link InstructionWindows}): one example per window, the loss over its
     * response tokens; held in memory, so the loop never waits on storage.
     */
    private static final class InstructionBatchSource implements TimedBatchSource {
        private final InstructionWindows.Reader reader;
        private final boolean packed;
        private long waitNanos;

        InstructionBatchSource(InstructionWindows.Reader reader, boolean packed) {
            this.reader = reader;
            this.packed = packed;
        }

        @Override
        public void next(int[] dst, int windows) {
            throw new UnsupportedOperationException("instruction windows come with their loss mask");
        }

        @Override
        public void next(int[] dst, boolean[] lossMask, int windows, int seqLen) {
            long start = System.nanoTime();
            reader.next(dst, lossMask, windows);
            waitNanos += System.nanoTime() - start;
        }

        @Override
        public void next(int[] dst, boolean[] lossMask, int[] starts, int windows, int seqLen) {
            long start = System.nanoTime();
            reader.next(dst, lossMask, starts, windows);
            waitNanos += System.nanoTime() - start;
        }

        @Override
        public boolean masksLoss() {
            return true;
        }

        @Override
        public boolean packsExamples() {
            return packed;
        }

        @Override
        public double waitSeconds() {
            return waitNanos / 1e9;
        }

        @Override
        public String position() {
            return reader.position();
        }
    }

    /** Adapts the data module's reader to the training loop, timing how long the loop waits for it. */
    private static final class WindowBatchSource implements TimedBatchSource {
        private final WindowSource windows;
        private long waitNanos;

        WindowBatchSource(WindowSource windows) {
            this.windows = windows;
        }

        @Override
        public void next(int[] dst, int count) throws IOException {
            long start = System.nanoTime();
            windows.next(dst, count);
            waitNanos += System.nanoTime() - start;
        }

        @Override
        public double waitSeconds() {
            return waitNanos / 1e9;
        }

        @Override
        public String position() {
            return windows.position();
        }
    }
}
