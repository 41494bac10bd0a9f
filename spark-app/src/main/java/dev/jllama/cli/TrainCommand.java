package dev.jllama.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jllama.data.mixture.TrainingData;
import dev.jllama.data.prepare.BundledCorpus;
import dev.jllama.data.shard.Manifest;
import dev.jllama.data.tokenizer.Tokenizer;
import dev.jllama.driver.TrainDriver;
import dev.jllama.driver.WorldSize;
import dev.jllama.model.LlamaConfig;
import dev.jllama.model.train.TrainOptions;
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
import java.util.Set;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;

/**
 * {@code llama train}: pretrains a LLaMA model on a prepared token dataset or a mixture, data-parallel over Spark
 * barrier tasks, one rank per executor ({@link WorldSize}). The resolved configuration is recorded in the run
 * directory's {@code config.json}; {@code --resume} takes it back, and a run directory with checkpoints is never
 * started over by accident.
 */
@Command(name = "train", description = "Pretrains a LLaMA model on a prepared dataset or a mixture, data-parallel"
        + " over Spark barrier tasks.")
public final class TrainCommand extends LlamaCommand implements Main.Recalling {

    @Option(names = "--data", paramLabel = "SPEC", description = "a prepared dataset (manifest.json; any Hadoop URI), or a"
            + " mixture name=DIR:weight,name=DIR:weight,... or @FILE.json; DIR#SOURCE reads one source of a dataset"
            + " prepared with per-source shards (default: the bundled corpus, prepared on first use under runs/data/bundled)")
    String data;

    @Option(names = "--out", defaultValue = "runs/train", paramLabel = "DIR", description = "run directory: checkpoints"
            + " in DIR/checkpoints, the resolved configuration in DIR/config.json (default: ${DEFAULT-VALUE})")
    String out;

    @Option(names = "--model", defaultValue = "tiny", paramLabel = "PRESET|FILE", description = "tiny, 15M, 42M, 110M,"
            + " 1.1B, 7B, 13B, 33B, 65B or a JSON config; the vocabulary size follows the dataset's tokenizer"
            + " (default: ${DEFAULT-VALUE})")
    String model;

    @Option(names = "--steps", defaultValue = "300", paramLabel = "N", description = "optimizer steps (default: ${DEFAULT-VALUE})")
    @Range(min = 1)
    int steps;

    @Option(names = "--micro-batch", defaultValue = "16", paramLabel = "N",
            description = "sequences per forward/backward on each rank (default: ${DEFAULT-VALUE})")
    @Range(min = 1)
    int microBatch;

    @Option(names = "--batch-tokens", paramLabel = "N", description = "tokens per optimizer step over all ranks; a"
            + " multiple of ranks x micro-batch x seq-len, the quotient being the gradient-accumulation steps (default:"
            + " one micro-batch per rank)")
    @Range(min = 1)
    Long batchTokens;

    @Option(names = "--seq-len", paramLabel = "N", description = "context length (default: the model's, at most 256)")
    @Range(min = 1)
    Integer seqLen;

    @Option(names = "--lr", paramLabel = "X", description = "peak learning rate (default: the preset's; 3e-4 for 7B as in"
            + " the paper)")
    @Range(min = 0, minExclusive = true, max = 1)
    Double lr;

    @Option(names = "--warmup", paramLabel = "N", description = "linear warm-up steps (default: 2000, at most a tenth of"
            + " --steps)")
    @Range(min = 0)
    Integer warmup;

    @Option(names = "--checkpoint-every", defaultValue = "100", paramLabel = "N",
            description = "steps between checkpoints; 0 writes one only at the end (default: ${DEFAULT-VALUE})")
    @Range(min = 0)
    int checkpointEvery;

    @Option(names = "--keep", defaultValue = "3", paramLabel = "N",
            description = "newest checkpoints to keep (default: ${DEFAULT-VALUE})")
    @Range(min = 1)
    int keep;

    @Option(names = "--resume", description = "continue from the newest complete checkpoint in DIR/checkpoints (with any"
            + " number of ranks), with the configuration recorded in DIR/config.json for every option not given")
    boolean resume;

    @Option(names = "--overwrite", description = "start over in a run directory that has checkpoints, deleting them")
    boolean overwrite;

    @Option(names = "--allow-change", split = ",", paramLabel = "OPTION", description = "with --resume, options that may"
            + " differ from the recorded run: data, seq-len, batch-tokens, lr, warmup")
    List<String> allowChange = new ArrayList<>();

    @Mixin
    BackendOptions backend;

    @Option(names = "--seed", defaultValue = "1234", paramLabel = "S",
            description = "initialisation and data-order seed (default: ${DEFAULT-VALUE})")
    long seed;

    @Mixin
    ClusterOptions cluster;

    @Option(names = "--eval-batches", defaultValue = "8", paramLabel = "N", description = "validation micro-batches"
            + " evaluated at every checkpoint and at the end, spread evenly over the split; 0 evaluates none (default:"
            + " ${DEFAULT-VALUE})")
    @Range(min = 0)
    int evalBatches;

    @Option(names = "--config", paramLabel = "FILE.yaml", description = "options from a YAML file (option: value);"
            + " those given on the command line win")
    Path config;

    @Option(names = "--dry-run", description = "resolve and check everything (data, model, world size, checkpoints),"
            + " print the configuration and stop, starting no cluster")
    boolean dryRun;

    /** Options that say what a run trains: recorded in config.json, and taken from it by {@code --resume}. */
    static final List<String> RECALLED = List.of("--data", "--model", "--steps", "--micro-batch", "--batch-tokens",
            "--seq-len", "--lr", "--warmup", "--checkpoint-every", "--keep", "--seed", "--zero", "--check-every",
            "--log-every", "--eval-batches");
    /** Of those, the ones a resumed run keeps unless {@code --allow-change} names them. */
    static final List<String> GUARDED = List.of("data", "seq-len", "batch-tokens", "lr", "warmup");
    /** What a checkpoint itself fixes: a resumed run can never change these. */
    static final List<String> FIXED = List.of("model", "seed");

    private static final ObjectMapper JSON = new ObjectMapper();
    /** The recorded options that {@link #recall} filled in, for the resumption line. */
    private List<String> recalled = List.of();

    @Override
    void validate() {
        if (resume && overwrite) throw new UsageException("--resume and --overwrite exclude each other");
        if (!allowChange.isEmpty() && !resume) throw new UsageException("--allow-change goes with --resume");
        for (String name : allowChange) {
            if (!GUARDED.contains(name)) {
                throw new UsageException("--allow-change takes " + String.join(", ", GUARDED) + ", got '" + name + "'"
                        + (FIXED.contains(name) ? " (the checkpoint fixes the " + name + ")" : ""));
            }
        }
        cluster.validate();
    }

    @Override
    public List<String> recall(CommandSpec parsed, Set<String> given) {
        if (!Boolean.TRUE.equals(parsed.findOption("--resume").getValue())) return List.of();
        Optional<JsonNode> record;
        try {
            record = new RunDirectory(parsed.findOption("--out").getValue(), new Configuration()).recordedConfig();
        } catch (java.io.IOException e) {
            throw new UsageException("--resume: " + e.getMessage());
        }
        List<String> args = new ArrayList<>();
        JsonNode options = record.map(r -> r.get("options")).orElse(JSON.createObjectNode());
        for (String name : RECALLED) {
            JsonNode value = options.get(name.substring(2));
            if (given.contains(name) || value == null || value.isNull()) continue;
            args.addAll(List.of(name, value.asText()));
        }
        return args;
    }

    @Override
    public void recalled(List<String> arguments) {
        recalled = arguments;
    }

    /** {@code train} from arguments, as another command runs it (the scaling benchmark). */
    static Map<String, Object> runWith(List<String> argv, PrintStream out) throws Exception {
        List<String> all = new ArrayList<>(List.of("train"));
        all.addAll(argv);
        return Main.checked(all.toArray(String[]::new)).run(out);
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

        java.nio.file.Path bundledCache = java.nio.file.Path.of("runs", "data", "bundled");
        java.nio.file.Path bundled = bundledCache.toAbsolutePath().resolve(BundledCorpus.DATASET_NAME);
        String dataSpec;
        TrainingData dataset = null; // stays null when a dry run has no prepared bundled corpus to open
        int vocabSize;
        if (data == null && dryRun && !java.nio.file.Files.exists(bundled.resolve(Manifest.FILE_NAME))) {
            // A dry run starts no Spark, not even the local job that prepares the bundled corpus.
            out.println("no --data given: the bundled sample corpus, which the run prepares first into " + bundled);
            dataSpec = bundled.toUri().toString();
            vocabSize = Tokenizer.bundled().vocabSize();
        } else {
            if (data == null) {
                out.println("no --data given: using the bundled sample corpus");
                data = BundledCorpus.prepare(bundledCache).toString();
            }
            dataset = openData(data, hadoop);
            dataSpec = dataset.qualifiedSpec();
            vocabSize = dataset.vocabSize();
        }
        LlamaConfig modelConfig = LlamaConfig.resolve(model).withVocabSize(vocabSize);
        int seqLen = this.seqLen != null ? this.seqLen : Math.min(modelConfig.maxSeqLen(), 256);
        if (seqLen > modelConfig.maxSeqLen()) {
            throw new UsageException("--seq-len " + seqLen + " exceeds the model's max_seq_len " + modelConfig.maxSeqLen());
        }
        double lr = this.lr != null ? this.lr : LlamaConfig.recommendedPeakLr(model);
        int warmup = this.warmup != null ? this.warmup : Math.min(2000, Math.max(1, steps / 10));
        long microTokens = (long) world * microBatch * seqLen;
        long tokens = batchTokens != null ? batchTokens : microTokens;
        if (tokens % microTokens != 0) {
            throw new UsageException("--batch-tokens " + tokens + " is not a multiple of ranks x micro-batch x seq-len = "
                    + world + " x " + microBatch + " x " + seqLen + " = " + microTokens);
        }
        TrainOptions options = new TrainOptions(steps, seqLen, microBatch, (int) (tokens / microTokens), lr, warmup,
                0.1, checkpointEvery, keep, seed);
        if (dataset != null && dataset.components().size() > 1) {
            long windows = (long) steps * tokens / seqLen;
            out.printf("mixture over %d steps (%,d windows of %d tokens): %s%n", steps, windows, seqLen + 1,
                    describeEpochs(dataset, seqLen, windows));
        }

        // What the run records: every option as resolved, the derived values in place of their defaults.
        Map<String, Object> resolved = ResolvedOptions.of(spec);
        resolved.put("data", dataSpec);
        resolved.put("seq-len", seqLen);
        resolved.put("batch-tokens", tokens);
        resolved.put("lr", lr);
        resolved.put("warmup", warmup);
        ObjectNode record = JSON.createObjectNode();
        record.put("format", RunDirectory.CONFIG_FORMAT);
        record.put("version", RunDirectory.CONFIG_VERSION);
        record.put("command", "train");
        record.set("options", JSON.valueToTree(resolved));
        record.set("model", modelConfig.toJson());
        record.put("ranks", world);
        if (resume) checkUnchanged(runDir, record, out);

        if (dryRun) {
            out.println("train would run with (" + world + " rank" + (world == 1 ? "" : "s") + "):");
            out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(record));
            Map<String, Object> result = new LinkedHashMap<>();
            result.put("dry_run", true);
            result.put("ranks", world);
            result.put("resume_from", resume ? newest.orElse(null) : null);
            result.put("config", JSON.convertValue(record, Map.class));
            return result;
        }
        if (overwrite && newest.isPresent()) {
            out.println("--overwrite: deleting the checkpoints and metrics of " + runDir);
            runDir.clear();
        }
        record.put("written", Instant.now().toString());
        runDir.writeConfig(record);

        TrainPlan plan = new TrainPlan(dataSpec, null, null, runDir.checkpointRoot(), modelConfig.toJson().toString(),
                options.toJson().toString(), backend.backend, backend.deviceIndex(), backend.threadCount(),
                backend.precision().label(), resume,
                cluster.zero == 1, null, null, Duration.ofSeconds(cluster.collectiveTimeout), cluster.checkEvery, cluster.logEvery, evalBatches, null);
        TrainDriver.Outcome outcome = TrainDriver.run(plan, cluster.cluster(world, backend.threadCount()), out);
        return RunResult.of(outcome, steps, cluster.zero, runDir.configFile());
    }

    /**
     * A resumed run against its record: the model and seed must match (the checkpoint holds them), and the data, batch,
     * sequence length and schedule may differ only where {@code --allow-change} says so.
     */
    private void checkUnchanged(RunDirectory runDir, ObjectNode now, PrintStream out) throws java.io.IOException {
        Optional<JsonNode> recorded = runDir.recordedConfig();
        if (recorded.isEmpty()) {
            out.println("--resume: " + runDir + " has no " + RunDirectory.CONFIG_FILE + " (an imported model or an older"
                    + " run): resuming with the options given");
            return;
        }
        JsonNode before = recorded.get();
        if (!LlamaConfig.fromJson(before.get("model")).equals(LlamaConfig.fromJson(now.get("model")))) {
            throw new UsageException("--resume: the model " + now.get("model") + " is not the recorded run's "
                    + before.get("model") + " (" + runDir.configFile() + ")");
        }
        JsonNode was = before.get("options"), is = now.get("options");
        List<String> changes = new ArrayList<>();
        // The model is compared above by its configuration (a preset and a JSON file may name the same one).
        for (String name : Stream.concat(Stream.of("seed"), GUARDED.stream()).toList()) {
            JsonNode a = was.get(name), b = is.get(name);
            if (a == null || b == null || sameValue(a, b)) continue;
            if (FIXED.contains(name) || !allowChange.contains(name)) {
                throw new UsageException("--resume: --" + name + " " + b.asText() + " differs from the recorded run's "
                        + a.asText() + " (" + runDir.configFile() + ")" + (FIXED.contains(name)
                        ? "; the checkpoint fixes it" : "; add --allow-change " + name + " to resume with it"));
            }
            changes.add("--" + name + " " + a.asText() + " -> " + b.asText());
        }
        if (!recalled.isEmpty()) out.println("--resume: as recorded in " + runDir.configFile() + ": " + String.join(" ", recalled));
        if (!changes.isEmpty()) out.println("--resume: changed as allowed: " + String.join(", ", changes));
    }

    private static boolean sameValue(JsonNode a, JsonNode b) {
        return a.isNumber() && b.isNumber() ? a.asDouble() == b.asDouble() : a.asText().equals(b.asText());
    }

    /** "name weight% -> epochs" per dataset: the LLaMA paper's Table 1 columns that the plan implies. */
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
