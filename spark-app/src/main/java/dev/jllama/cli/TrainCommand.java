package dev.jllama.cli;

import dev.jllama.data.prepare.BundledCorpus;
import dev.jllama.data.shard.Dataset;
import dev.jllama.data.shard.WindowSource;
import dev.jllama.model.Initializer;
import dev.jllama.model.LlamaConfig;
import dev.jllama.model.LlamaModel;
import dev.jllama.model.backend.Backend;
import dev.jllama.model.backend.Backends;
import dev.jllama.model.checkpoint.CheckpointStore;
import dev.jllama.model.checkpoint.TrainingState;
import dev.jllama.model.optim.AdamW;
import dev.jllama.model.train.BatchSource;
import dev.jllama.model.train.StepStats;
import dev.jllama.model.train.TrainOptions;
import dev.jllama.model.train.Trainer;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.apache.hadoop.conf.Configuration;

/** {@code llama train}: pretrains a LLaMA model on a prepared token dataset (single process for now). */
public final class TrainCommand implements Command {

    @Override
    public String name() {
        return "train";
    }

    @Override
    public String usage() {
        return """
                llama train [--data DIR] [--out DIR] [--model PRESET|FILE] [--steps N] [--batch-tokens N]
                            [--micro-batch N] [--seq-len N] [--lr X] [--warmup N] [--checkpoint-every N] [--keep N]
                            [--resume] [--backend auto|cpu|tornado] [--device N] [--threads N] [--seed S]
                            [--log-every N] [--eval-batches N] [--json]
                  --data DIR            prepared dataset (manifest.json; any Hadoop URI); default: the bundled corpus,
                                        prepared on first use under runs/data/bundled
                  --out DIR             run directory; checkpoints go to DIR/checkpoints (default runs/train)
                  --model PRESET|FILE   tiny, 15M, 42M, 110M, 7B, 13B, 33B, 65B or a JSON config (default tiny);
                                        the vocabulary size follows the dataset's tokenizer
                  --steps N             optimizer steps (default 300)
                  --micro-batch N       sequences per forward/backward (default 16)
                  --batch-tokens N      tokens per optimizer step; a multiple of micro-batch x seq-len, the
                                        quotient being the gradient-accumulation steps (default: one micro-batch)
                  --seq-len N           context length (default: the model's, at most 256)
                  --lr X                peak learning rate (default: the preset's; 3e-4 for 7B as in the paper)
                  --warmup N            linear warm-up steps (default 2000, capped at a tenth of --steps)
                  --checkpoint-every N  steps between checkpoints (default 100; 0 = only at the end)
                  --keep N              newest checkpoints to keep (default 3)
                  --resume              continue from the newest complete checkpoint in DIR/checkpoints
                  --backend NAME        auto (TornadoVM when a device exists, else CPU), cpu or tornado
                  --device N            device index for a GPU backend (default: its first)
                  --threads N           CPU threads (default: one per core)
                  --seed S              initialisation and data-order seed (default 1234)
                  --eval-batches N      validation micro-batches evaluated at the end (default 8)
                  --json                print the result as one JSON object on the last line""";
    }

    @Override
    public Map<String, Object> run(Args args, PrintStream out) throws Exception {
        String data = args.string("data", null);
        String outDir = args.string("out", "runs/train");
        String modelName = args.string("model", "tiny");
        int steps = args.integer("steps", 300);
        int microBatch = args.integer("micro-batch", 16);
        int seqLenArg = args.integer("seq-len", -1);
        long batchTokens = args.longValue("batch-tokens", -1);
        double lrArg = args.number("lr", -1);
        int warmupArg = args.integer("warmup", -1);
        int checkpointEvery = args.integer("checkpoint-every", 100);
        int keep = args.integer("keep", 3);
        boolean resume = args.flag("resume");
        String backendName = args.string("backend", "auto");
        int device = args.integer("device", -1);
        int threads = args.integer("threads", 0);
        long seed = args.longValue("seed", 1234);
        int logEvery = args.integer("log-every", 10);
        int evalBatches = args.integer("eval-batches", 8);
        args.checkAllUsed();
        if (logEvery <= 0) throw new UsageException("--log-every must be positive, got " + logEvery);

        Configuration conf = new Configuration();
        if (data == null) {
            out.println("no --data given: using the bundled sample corpus");
            data = BundledCorpus.prepare(Path.of("runs", "data", "bundled")).toString();
        }
        Dataset dataset = Dataset.open(data, conf);
        LlamaConfig config = LlamaConfig.resolve(modelName).withVocabSize(dataset.vocabSize());
        int seqLen = seqLenArg > 0 ? seqLenArg : Math.min(config.maxSeqLen(), 256);
        if (seqLen > config.maxSeqLen()) {
            throw new UsageException("--seq-len " + seqLen + " exceeds the model's max_seq_len " + config.maxSeqLen());
        }
        long microTokens = (long) microBatch * seqLen;
        if (batchTokens < 0) batchTokens = microTokens;
        if (batchTokens % microTokens != 0) {
            throw new UsageException("--batch-tokens " + batchTokens + " is not a multiple of micro-batch x seq-len = "
                    + microTokens);
        }
        int accumulation = (int) (batchTokens / microTokens);
        double lr = lrArg > 0 ? lrArg : LlamaConfig.recommendedPeakLr(modelName);
        int warmup = warmupArg >= 0 ? warmupArg : Math.min(2000, Math.max(1, steps / 10));
        TrainOptions options = new TrainOptions(steps, seqLen, microBatch, accumulation, lr, warmup, 0.1,
                checkpointEvery, keep, seed);

        CheckpointStore store = new CheckpointStore(outDir + "/checkpoints", conf);
        byte[] tokenizer = dataset.tokenizer().toModelBytes();
        try (Backend backend = Backends.create(backendName, device, threads);
             LlamaModel model = new LlamaModel(config, backend);
             AdamW optimizer = new AdamW(backend, model.parameters(), AdamW.Hyper.LLAMA)) {
            Initializer.initialize(model, seed);
            int startStep = 0;
            long tokensSeen = 0;
            String position = null;
            if (resume) {
                Optional<org.apache.hadoop.fs.Path> latest = store.latest();
                if (latest.isPresent()) {
                    TrainingState state = CheckpointStore.readState(latest.get().toString(), conf);
                    if (!state.config().equals(config)) {
                        throw new IllegalArgumentException("checkpoint " + latest.get() + " is for model "
                                + state.config().toJson() + ", not " + config.toJson());
                    }
                    if (state.seed() != seed) {
                        throw new IllegalArgumentException("checkpoint " + latest.get() + " was trained with --seed "
                                + state.seed() + ", not " + seed);
                    }
                    CheckpointStore.load(latest.get().toString(), conf, model, optimizer);
                    startStep = state.step();
                    tokensSeen = state.tokensSeen();
                    position = state.dataPositions().get(0);
                    out.println("resuming from " + latest.get() + " at step " + startStep);
                } else {
                    out.println("--resume: no checkpoint in " + store.root() + ", starting from scratch");
                }
            }
            out.printf("model %s: %,d parameters (dim %d, layers %d, heads %d/%d kv, vocab %d); backend %s (%s)%n",
                    modelName, model.parameters().count(), config.dim(), config.layers(), config.heads(),
                    config.kvHeads(), config.vocabSize(), backend.name(), backend.device());
            out.printf("data %s: %,d training tokens; %d x %d tokens per micro-batch, %d micro-batches per step; "
                            + "activations %.1f MiB%n", dataset.dir(), dataset.tokens("train"), microBatch, seqLen,
                    accumulation, model.activations(microBatch, seqLen).bytes() / 1048576.0);

            Trainer trainer = new Trainer(model, optimizer, options);
            final int firstStep = startStep;
            double[] tokenSeconds = new double[2];
            StepStats last;
            try (WindowSource windows = dataset.windows("train", seqLen, 0, 1, seed, position)) {
                BatchSource source = new WindowBatchSource(windows);
                last = trainer.run(startStep, tokensSeen, source, store, tokenizer, stats -> {
                    if (stats.step() > firstStep + 1) { // the first step includes JIT warm-up
                        tokenSeconds[0] += options.tokensPerStep();
                        tokenSeconds[1] += stats.seconds();
                    }
                    if (stats.step() % logEvery == 0 || stats.step() == steps || stats.step() == firstStep + 1) {
                        out.printf("step %5d/%d | loss %.4f | lr %.3e | grad norm %.3f | %,.0f tokens/s%n",
                                stats.step(), steps, stats.loss(), stats.lr(), stats.gradNorm(), stats.tokensPerS());
                    }
                });
            }
            Map<String, Object> result = new LinkedHashMap<>();
            if (last == null) {
                out.println("nothing to do: the checkpoint is already at step " + startStep + " of " + steps);
                result.put("final_loss", null);
            } else {
                result.put("final_loss", last.loss());
            }
            double valLoss = validationLoss(dataset, model, seqLen, microBatch, evalBatches, seed);
            if (!Double.isNaN(valLoss)) out.printf("validation loss %.4f%n", valLoss);
            result.put("val_loss", Double.isNaN(valLoss) ? null : valLoss);
            result.put("steps", steps);
            result.put("start_step", startStep);
            result.put("tokens_per_s", tokenSeconds[1] > 0 ? tokenSeconds[0] / tokenSeconds[1]
                    : last == null ? null : last.tokensPerS());
            result.put("tokens_per_step", options.tokensPerStep());
            result.put("parameters", model.parameters().count());
            result.put("activation_bytes", model.activations(microBatch, seqLen).bytes());
            result.put("backend", backend.name());
            result.put("checkpoint", store.latest().map(Object::toString).orElse(null));
            return result;
        }
    }

    /** Mean loss over the first {@code batches} micro-batches of the validation split, or NaN if it is too small. */
    private static double validationLoss(Dataset dataset, LlamaModel model, int seqLen, int microBatch, int batches,
                                         long seed) throws IOException {
        if (batches <= 0 || dataset.tokens("val") < (long) microBatch * (seqLen + 1)) return Double.NaN;
        int[] windows = new int[microBatch * (seqLen + 1)];
        double sum = 0;
        try (WindowSource source = dataset.windows("val", seqLen, 0, 1, seed, null)) {
            for (int i = 0; i < batches; i++) {
                source.next(windows, microBatch);
                sum += model.loss(windows, microBatch, seqLen);
            }
        }
        return sum / ((double) batches * microBatch * seqLen);
    }

    /** Adapts the data module's reader to the training loop. */
    private record WindowBatchSource(WindowSource windows) implements BatchSource {
        @Override
        public void next(int[] dst, int count) throws IOException {
            windows.next(dst, count);
        }

        @Override
        public String position() {
            return windows.position();
        }
    }
}
