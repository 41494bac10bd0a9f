package dev.jllama.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jllama.data.finetune.ChatTemplate;
import dev.jllama.data.finetune.InstructionFormat;
import dev.jllama.data.finetune.InstructionWindows;
import dev.jllama.data.tokenizer.Tokenizer;
import dev.jllama.driver.TrainDriver;
import dev.jllama.model.LlamaConfig;
import dev.jllama.model.Lora;
import dev.jllama.model.checkpoint.CheckpointStore;
import dev.jllama.model.checkpoint.TrainingState;
import dev.jllama.model.train.TrainOptions;
import dev.jllama.rank.RankResult;
import dev.jllama.rank.TrainPlan;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.hadoop.conf.Configuration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code llama finetune}: instruction tuning of a checkpoint (one we trained, or one {@code import --hf} made) on
 * JSONL instruction data. It is {@code train} with another data source: the driver renders and tokenizes the
 * examples with the checkpoint's tokenizer into {@code DIR/data/examples.bin} ({@link InstructionWindows}: one
 * example per window, the loss over its response tokens), and the same barrier stage, ranks, training loop,
 * checkpoints, progress, metrics and recovery as {@code train} run on it, starting from the checkpoint's weights.
 */
@Command(name = "finetune", description = "Fine-tunes a checkpoint on instruction data (Alpaca, prompt/completion or"
        + " chat messages, JSONL), the loss over the responses, through the same training stage as train.")
public final class FinetuneCommand extends LlamaCommand {

    @Option(names = "--init", required = true, paramLabel = "CHECKPOINT|RUN_DIR", description = "the checkpoint to start"
            + " from, or a run directory (its newest complete checkpoint); its tokenizer is used")
    String init;

    @Option(names = "--data", required = true, arity = "1..*", paramLabel = "FILE.jsonl", description = "instruction"
            + " examples, one JSON object per line (any Hadoop URI)")
    List<String> data = new ArrayList<>();

    @Option(names = "--out", defaultValue = "runs/finetune", paramLabel = "DIR", description = "run directory:"
            + " checkpoints in DIR/checkpoints, the windows in DIR/data (default: ${DEFAULT-VALUE})")
    String out;

    @Option(names = "--format", paramLabel = "F", completionCandidates = Formats.class, description = "alpaca"
            + " (instruction, input, output), prompt-completion (prompt, completion) or messages (a list of role and"
            + " content); default: told per record from its fields")
    String format;

    @Option(names = "--chat-template", paramLabel = "FILE.json", description = "the chat template for alpaca and"
            + " messages records (default: the shipped Llama-2 template; see the README)")
    Path chatTemplate;

    @Option(names = "--train-on-prompt", description = "count the prompt's tokens in the loss too (default: the"
            + " responses only)")
    boolean trainOnPrompt;

    @Option(names = "--pack", description = "pack several examples into each window, attention masked per example"
            + " (CPU backend), instead of one example per padded window")
    boolean pack;

    @Option(names = "--steps", paramLabel = "N", description = "optimizer steps (default: --epochs over the examples)")
    @Range(min = 1)
    Integer steps;

    @Option(names = "--epochs", defaultValue = "1", paramLabel = "N", description = "passes over the examples when"
            + " --steps is not given (default: ${DEFAULT-VALUE})")
    @Range(min = 1)
    int epochs;

    @Option(names = "--micro-batch", defaultValue = "4", paramLabel = "N",
            description = "examples per forward/backward on each rank (default: ${DEFAULT-VALUE})")
    @Range(min = 1)
    int microBatch;

    @Option(names = "--accumulation", defaultValue = "1", paramLabel = "N",
            description = "micro-batches per optimizer step (default: ${DEFAULT-VALUE})")
    @Range(min = 1)
    int accumulation;

    @Option(names = "--seq-len", paramLabel = "N", description = "window length; longer examples are truncated and"
            + " counted (default: the model's, at most 512)")
    @Range(min = 1)
    Integer seqLen;

    @Option(names = "--lr", paramLabel = "X", description = "peak learning rate (default: 2e-5, with LoRA 2e-4)")
    @Range(min = 0, minExclusive = true, max = 1)
    Double lr;

    @Option(names = "--lora-rank", paramLabel = "R", description = "train LoRA adapters of rank R on the --lora-targets"
            + " instead of every weight (default: full fine-tuning)")
    @Range(min = 1)
    Integer loraRank;

    @Option(names = "--lora-alpha", paramLabel = "A", description = "LoRA's scale numerator: the update is A/R · B A"
            + " (default: 2 R)")
    @Range(min = 0, minExclusive = true)
    Double loraAlpha;

    @Option(names = "--lora-targets", split = ",", paramLabel = "T", completionCandidates = LoraTargets.class,
            description = "the linear layers that get adapters: q,k,v,o (attention) and gate,up,down (feed-forward)"
                    + " (default: all of them)")
    List<String> loraTargets;

    @Option(names = "--warmup", paramLabel = "N", description = "linear warm-up steps (default: a tenth of the steps)")
    @Range(min = 0)
    Integer warmup;

    @Option(names = "--checkpoint-every", defaultValue = "0", paramLabel = "N",
            description = "steps between checkpoints; 0 writes one only at the end (default: ${DEFAULT-VALUE})")
    @Range(min = 0)
    int checkpointEvery;

    @Option(names = "--keep", defaultValue = "3", paramLabel = "N",
            description = "newest checkpoints to keep (default: ${DEFAULT-VALUE})")
    @Range(min = 1)
    int keep;

    @Option(names = "--resume", description = "continue from the newest complete checkpoint in DIR/checkpoints, with"
            + " the same options")
    boolean resume;

    @Option(names = "--overwrite", description = "start over in a run directory that has checkpoints, deleting them")
    boolean overwrite;

    @Mixin
    BackendOptions backend;

    @Option(names = "--seed", defaultValue = "1234", paramLabel = "S",
            description = "example-order seed (default: ${DEFAULT-VALUE})")
    long seed;

    @Mixin
    ClusterOptions cluster;

    static final class LoraTargets extends ArrayList<String> {
        LoraTargets() {
            super(Lora.TARGETS);
        }
    }

    static final class Formats extends ArrayList<String> {
        Formats() {
            super(InstructionFormat.labels());
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    @Override
    void validate() {
        if (resume && overwrite) throw new UsageException("--resume and --overwrite exclude each other");
        if (loraRank == null && (loraAlpha != null || loraTargets != null)) {
            throw new UsageException((loraAlpha != null ? "--lora-alpha" : "--lora-targets") + " goes with --lora-rank");
        }
        cluster.validate();
    }

    @Override
    public Map<String, Object> run(PrintStream out) throws Exception {
        Configuration hadoop = new Configuration();
        RunDirectory runDir = new RunDirectory(this.out, hadoop);
        Optional<String> newest = runDir.newestCheckpoint();
        if (newest.isPresent() && !resume && !overwrite) {
            throw new UsageException(runDir + " already holds checkpoints (newest " + newest.get() + "): add --resume"
                    + " to continue that run, or --overwrite to delete them and start over");
        }
        int world = cluster.worldSize();

        String initDir;
        TrainingState initState;
        byte[] tokenizerBytes;
        try {
            initDir = CheckpointStore.resolve(init, hadoop);
            initState = CheckpointStore.readState(initDir, hadoop);
            tokenizerBytes = CheckpointStore.readTokenizer(initDir, hadoop).orElseThrow(() -> new UsageException(
                    "--init " + init + ": checkpoint " + initDir + " has no " + CheckpointStore.TOKENIZER_FILE));
        } catch (java.io.IOException e) {
            throw new UsageException("--init " + init + ": " + e.getMessage());
        }
        if (resume && newest.isPresent() && newest.get().equals(initDir)) {
            throw new UsageException("--init " + init + " is this run's own checkpoint");
        }
        Tokenizer tokenizer = Tokenizer.fromBytes(tokenizerBytes, initDir + "/" + CheckpointStore.TOKENIZER_FILE);
        LlamaConfig model = initState.config();
        if (tokenizer.vocabSize() != model.vocabSize()) {
            throw new UsageException("--init " + initDir + ": its tokenizer has " + tokenizer.vocabSize()
                    + " pieces, the model's vocab_size is " + model.vocabSize());
        }
        int seqLen = this.seqLen != null ? this.seqLen : Math.min(model.maxSeqLen(), 512);
        if (seqLen > model.maxSeqLen()) {
            throw new UsageException("--seq-len " + seqLen + " exceeds the model's max_seq_len " + model.maxSeqLen());
        }
        ChatTemplate template;
        try {
            template = ChatTemplate.load(chatTemplate);
        } catch (java.io.IOException | IllegalArgumentException e) {
            throw new UsageException("--chat-template: " + e.getMessage());
        }
        InstructionWindows.Prepared prepared;
        try {
            prepared = InstructionWindows.prepare(data, format == null ? null : InstructionFormat.parse(format),
                    template, tokenizer, seqLen, trainOnPrompt, pack, hadoop);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        InstructionWindows.Report report = prepared.report();
        out.printf("examples: %,d read (%s), %,d windows of %d tokens (%s, %.1f %% filled, the rest"
                        + " padding), %,d truncated to %d tokens, %,d dropped with no response token left; %,d loss"
                        + " tokens%s%n", report.examples(), report.formats(), report.windows(), seqLen + 1,
                pack ? "examples packed, attention masked per example" : "one example each", 100 * report.fill(), report.truncated(), seqLen + 1, report.dropped(), report.countedTargets(),
                trainOnPrompt ? " (prompts included)" : " (responses only)");
        long windowsPerStep = (long) world * microBatch * accumulation;
        int steps = this.steps != null ? this.steps
                : (int) Math.max(1, Math.min(Integer.MAX_VALUE, (long) epochs * report.windows() / windowsPerStep));
        int warmup = this.warmup != null ? this.warmup : Math.max(1, steps / 10);
        Lora.Spec lora = loraRank == null ? null : new Lora.Spec(loraRank,
                loraAlpha != null ? loraAlpha : 2.0 * loraRank, loraTargets != null ? loraTargets : Lora.TARGETS);
        double lr = this.lr != null ? this.lr : lora != null ? 2e-4 : 2e-5;
        TrainOptions options = new TrainOptions(steps, seqLen, microBatch, accumulation, lr, warmup, 0.1,
                checkpointEvery, keep, seed);

        if (overwrite && newest.isPresent()) {
            out.println("--overwrite: deleting the checkpoints and metrics of " + runDir);
            runDir.clear();
        }
        String windowsFile = new org.apache.hadoop.fs.Path(runDir.checkpointRoot()).getParent() + "/data/"
                + InstructionWindows.FILE_NAME;
        prepared.windows().write(windowsFile, hadoop);

        Map<String, Object> resolved = ResolvedOptions.of(spec);
        resolved.put("init", initDir);
        resolved.put("seq-len", seqLen);
        resolved.put("steps", steps);
        resolved.put("warmup", warmup);
        resolved.put("lr", lr);
        if (lora != null) resolved.put("lora", JSON.convertValue(lora.toJson(), Map.class));
        ObjectNode record = JSON.createObjectNode();
        record.put("format", RunDirectory.CONFIG_FORMAT);
        record.put("version", RunDirectory.CONFIG_VERSION);
        record.put("command", "finetune");
        record.set("options", JSON.valueToTree(resolved));
        record.set("model", model.toJson());
        record.put("ranks", world);
        record.set("examples", JSON.valueToTree(report.toMap()));
        record.put("written", Instant.now().toString());
        runDir.writeConfig(record);

        TrainPlan plan = new TrainPlan(windowsFile, initDir, lora == null ? null : lora.toJson().toString(),
                runDir.checkpointRoot(), model.toJson().toString(),
                options.toJson().toString(), backend.backend, backend.deviceIndex(), backend.threadCount(),
                backend.precision().label(), resume, cluster.zero == 1, null, null, Duration.ofSeconds(cluster.collectiveTimeout),
                cluster.checkEvery, cluster.logEvery, 0, null);
        TrainDriver.Outcome outcome = TrainDriver.run(plan, cluster.cluster(world, backend.threadCount()), out);
        RankResult first = outcome.ranks().get(0);
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("first_loss", first.firstLoss());
        result.putAll(RunResult.of(outcome, steps, cluster.zero, runDir.configFile()));
        result.put("trainable_parameters", first.trainableParameters());
        result.put("examples", report.toMap());
        result.put("init", initDir);
        return result;
    }
}
