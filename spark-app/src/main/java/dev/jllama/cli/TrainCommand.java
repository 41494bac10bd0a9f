package dev.jllama.cli;

import dev.jllama.data.mixture.TrainingData;
import dev.jllama.data.prepare.BundledCorpus;
import dev.jllama.driver.TrainDriver;
import dev.jllama.model.LlamaConfig;
import dev.jllama.model.checkpoint.CheckpointStore;
import dev.jllama.model.train.TrainOptions;
import dev.jllama.rank.RankResult;
import dev.jllama.rank.TrainPlan;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;
import org.apache.hadoop.conf.Configuration;

/**
 * {@code llama train}: pretrains a LLaMA model on a prepared token dataset or a mixture, data-parallel over Spark
 * barrier tasks — one rank per executor on a cluster, {@code --ranks} on local Spark (one by default).
 */
public final class TrainCommand implements Command {

    @Override
    public String name() {
        return "train";
    }

    @Override
    public String usage() {
        return """
                llama train [--data SPEC] [--out DIR] [--model PRESET|FILE] [--steps N] [--batch-tokens N]
                            [--micro-batch N] [--seq-len N] [--lr X] [--warmup N] [--checkpoint-every N] [--keep N]
                            [--resume] [--backend auto|cpu|tornado] [--device N] [--threads N] [--seed S]
                            [--master URL] [--ranks N] [--zero 1] [--conf k=v ...] [--collective-timeout S]
                            [--max-attempts N] [--check-every N] [--log-every N] [--eval-batches N] [--json]
                  --data SPEC           a prepared dataset (manifest.json; any Hadoop URI), or a mixture
                                        name=DIR:weight,name=DIR:weight,... or @FILE.json; default: the bundled
                                        corpus, prepared on first use under runs/data/bundled
                  --out DIR             run directory; checkpoints go to DIR/checkpoints (default runs/train)
                  --model PRESET|FILE   tiny, 15M, 42M, 110M, 1.1B, 7B, 13B, 33B, 65B or a JSON config (default tiny);
                                        the vocabulary size follows the dataset's tokenizer
                  --steps N             optimizer steps (default 300)
                  --micro-batch N       sequences per forward/backward on each rank (default 16)
                  --batch-tokens N      tokens per optimizer step over all ranks; a multiple of ranks x micro-batch
                                        x seq-len, the quotient being the gradient-accumulation steps (default: one
                                        micro-batch per rank)
                  --seq-len N           context length (default: the model's, at most 256)
                  --lr X                peak learning rate (default: the preset's; 3e-4 for 7B as in the paper)
                  --warmup N            linear warm-up steps (default 2000, capped at a tenth of --steps)
                  --checkpoint-every N  steps between checkpoints (default 100; 0 = only at the end)
                  --keep N              newest checkpoints to keep (default 3)
                  --resume              continue from the newest complete checkpoint in DIR/checkpoints (with any
                                        number of ranks)
                  --backend NAME        auto (TornadoVM when a device exists, else CPU), cpu or tornado
                  --device N            device index for a GPU backend when Spark assigns no GPU (default: first)
                  --threads N           CPU threads per rank (default: the task's cores)
                  --seed S              initialisation and data-order seed (default 1234)
                  --master URL          Spark master (default: spark-submit's, else local Spark in this JVM)
                  --ranks N             data-parallel ranks (default: one per executor; 1 on local Spark)
                  --zero 1              shard AdamW's moments across ranks (ZeRO stage 1)
                  --conf k=v            a Spark setting (repeatable)
                  --collective-timeout S  seconds a rank waits for a silent peer before failing (default 180)
                  --max-attempts N      runs of the training stage before giving up: a lost rank (executor lost,
                                        task killed, peer timeout) fails the stage, and the next attempt resumes
                                        from the newest intact checkpoint (default 4)
                  --check-every N       steps between cross-rank parameter checksums (default 100; 0 = never)
                  --log-every N         steps between progress lines (default 10)
                  --eval-batches N      validation micro-batches evaluated at every checkpoint and at the end: windows
                                        spread evenly over the split in stored order, the same for every seed
                                        (default 8; 0 = none)
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
        String master = args.string("master", null);
        int ranksArg = args.integer("ranks", 0);
        int zero = args.integer("zero", 0);
        int timeout = args.integer("collective-timeout", 180);
        int attempts = args.integer("max-attempts", 4);
        int checkEvery = args.integer("check-every", 100);
        int logEvery = args.integer("log-every", 10);
        int evalBatches = args.integer("eval-batches", 8);
        var conf = args.list("conf");
        args.checkAllUsed();
        if (logEvery <= 0) throw new UsageException("--log-every must be positive, got " + logEvery);
        if (ranksArg < 0) throw new UsageException("--ranks must be positive, got " + ranksArg);
        if (zero != 0 && zero != 1) throw new UsageException("--zero takes 1 (ZeRO stage 1), got " + zero);
        if (timeout <= 0) throw new UsageException("--collective-timeout must be positive, got " + timeout);
        if (attempts < 1) throw new UsageException("--max-attempts must be at least 1, got " + attempts);
        if (checkEvery < 0) throw new UsageException("--check-every must be >= 0, got " + checkEvery);

        Configuration hadoop = new Configuration();
        if (data == null) {
            out.println("no --data given: using the bundled sample corpus");
            data = BundledCorpus.prepare(Path.of("runs", "data", "bundled")).toString();
        }
        TrainingData dataset = TrainingData.open(data, hadoop);
        LlamaConfig config = LlamaConfig.resolve(modelName).withVocabSize(dataset.vocabSize());
        int seqLen = seqLenArg > 0 ? seqLenArg : Math.min(config.maxSeqLen(), 256);
        if (seqLen > config.maxSeqLen()) {
            throw new UsageException("--seq-len " + seqLen + " exceeds the model's max_seq_len " + config.maxSeqLen());
        }
        double lr = lrArg > 0 ? lrArg : LlamaConfig.recommendedPeakLr(modelName);
        int warmup = warmupArg >= 0 ? warmupArg : Math.min(2000, Math.max(1, steps / 10));
        // Qualified as the ranks' CheckpointStore resolves it, since executors run in other working directories.
        String checkpoints = new CheckpointStore(outDir + "/checkpoints", hadoop).root();
        String dataSpec = dataset.qualifiedSpec();
        long globalBatch = batchTokens;
        // The world's size is known once the cluster is up: --batch-tokens is split over the ranks then.
        IntFunction<TrainPlan> planForRanks = ranks -> {
            long microTokens = (long) ranks * microBatch * seqLen;
            long tokens = globalBatch < 0 ? microTokens : globalBatch;
            if (tokens % microTokens != 0) {
                throw new UsageException("--batch-tokens " + tokens + " is not a multiple of ranks x micro-batch x "
                        + "seq-len = " + ranks + " x " + microBatch + " x " + seqLen + " = " + microTokens);
            }
            TrainOptions options = new TrainOptions(steps, seqLen, microBatch, (int) (tokens / microTokens), lr,
                    warmup, 0.1, checkpointEvery, keep, seed);
            return new TrainPlan(dataSpec, checkpoints, config.toJson().toString(), options.toJson().toString(),
                    backendName, device, threads, resume, zero == 1, null, null, Duration.ofSeconds(timeout),
                    checkEvery, logEvery, evalBatches, null);
        };
        TrainPlan planned = planForRanks.apply(Math.max(1, ranksArg)); // bad options fail before a cluster starts
        if (dataset.components().size() > 1) {
            long windows = (long) steps * planned.trainOptions().tokensPerStep() * Math.max(1, ranksArg) / seqLen;
            out.printf("mixture over %d steps of %d rank(s) (%,d windows of %d tokens): %s%n", steps, Math.max(1, ranksArg),
                    windows, seqLen + 1, describeEpochs(dataset, seqLen, windows));
        }
        TrainDriver.Outcome outcome = TrainDriver.run(planForRanks, new TrainDriver.Cluster(master, ranksArg, threads,
                conf, attempts), out);
        RankResult first = outcome.ranks().get(0);

        Map<String, Object> result = new LinkedHashMap<>();
        result.put("final_loss", first.finalLoss());
        result.put("val_loss", first.valLoss());
        result.put("val_ppl", first.valPerplexity());
        result.put("val_bpb", first.valBitsPerByte());
        result.put("steps", steps);
        result.put("start_step", first.startStep());
        result.put("tokens_per_s", first.tokensPerS());
        result.put("tokens_per_step", outcome.plan().trainOptions().tokensPerStep() * outcome.ranks().size());
        result.put("ranks", outcome.ranks().size());
        result.put("master", outcome.master());
        result.put("zero", zero);
        result.put("parameters", first.parameters());
        result.put("activation_bytes", first.activationBytes());
        result.put("moment_bytes_per_rank", first.momentBytes());
        result.put("backend", first.backend());
        result.put("comm_wait_s", outcome.ranks().stream().map(RankResult::commWaitSeconds).toList());
        result.put("hosts", outcome.ranks().stream().map(RankResult::host).toList());
        result.put("gpus", outcome.ranks().stream().map(RankResult::gpus).toList());
        if (!first.data().isEmpty()) result.put("data", first.data());
        result.put("checkpoint", first.checkpoint());
        return result;
    }

    /** "name weight% → epochs" per dataset: the LLaMA paper's Table 1 columns that the plan implies. */
    private static String describeEpochs(TrainingData dataset, int seqLen, long windows) {
        List<String> parts = new ArrayList<>();
        double total = dataset.components().stream().mapToDouble(c -> c.weight()).sum();
        Map<String, Double> epochs = dataset.plannedEpochs("train", seqLen, windows);
        for (var c : dataset.components()) {
            parts.add(String.format("%s %.1f %% -> %.3g epochs", c.name(), 100 * c.weight() / total, epochs.get(c.name())));
        }
        return String.join(", ", parts);
    }
}
