package dev.jllama.cli;

import dev.jllama.data.prepare.DocumentScorer;
import dev.jllama.data.prepare.NearDedupOptions;
import dev.jllama.data.prepare.PrepareJob;
import dev.jllama.data.prepare.PrepareKryo;
import dev.jllama.data.prepare.PrepareOptions;
import dev.jllama.data.prepare.PrepareResult;
import dev.jllama.data.prepare.QualityFilter;
import dev.jllama.driver.SparkSecurity;
import dev.jllama.model.checkpoint.CheckpointStore;
import dev.jllama.scoring.DocumentScorers;
import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code llama prepare}: text, JSONL, Parquet, ORC, WET → cleaned, deduplicated (exact and near), decontaminated,
 * filtered, tokenised token shards with a manifest and a per-source report (on Spark).
 */
@Command(name = "prepare", description = "Text, JSON lines, Parquet, ORC or Common Crawl WET to cleaned, deduplicated"
        + " (exact and near), decontaminated, tokenised token shards with a manifest and a per-source report, on Spark.")
public final class PrepareCommand extends LlamaCommand {

    @Option(names = "--input", arity = "1..*", paramLabel = "[NAME=]PATH", description = "files,"
            + " directories or globs; local paths or Hadoop URIs (hdfs://). By name: *.parquet, *.orc, *.warc.wet[.gz]"
            + " (Common Crawl WET), *.jsonl / *.json / *.ndjson (also .gz, .bz2, .zst), else text with documents"
            + " separated by blank lines (also .gz, .bz2). NAME is the source the documents count for (default: the"
            + " path's last name without extensions). Required unless --from-annotations gives them")
    List<String> inputs;

    @Option(names = "--output", required = true, paramLabel = "DIR",
            description = "dataset directory to create (must not exist); appears only when complete")
    String output;

    @Option(names = "--tokenizer", paramLabel = "FILE.model",
            description = "SentencePiece model to use (default: the bundled 4096-piece model)")
    String tokenizer;

    @Option(names = "--vocab-size", paramLabel = "N", description = "instead, train a BPE tokenizer of N pieces on the"
            + " cleaned training split")
    @Range(min = 259)
    Integer vocabSize;

    @Option(names = "--val-fraction", defaultValue = "" + PrepareOptions.DEFAULT_VAL_FRACTION, paramLabel = "F",
            description = "share of documents for the validation split, by document hash (default: ${DEFAULT-VALUE})")
    @Range(min = 0, max = 1, maxExclusive = true)
    double valFraction;

    @Option(names = "--shard-tokens", defaultValue = "" + PrepareOptions.DEFAULT_SHARD_TOKENS, paramLabel = "N",
            description = "tokens per shard (default: ${DEFAULT-VALUE})")
    @Range(min = 1)
    long shardTokens;

    @Option(names = "--line-dup-threshold", defaultValue = "" + PrepareOptions.DEFAULT_LINE_DUP_THRESHOLD,
            paramLabel = "N", description = "remove lines occurring more than N times in the corpus; 0 turns it off"
            + " (default: ${DEFAULT-VALUE})")
    @Range(min = 0)
    int lineDupThreshold;

    @Option(names = "--min-chars", defaultValue = "" + PrepareOptions.DEFAULT_MIN_CHARS, paramLabel = "N",
            description = "drop documents shorter than N characters (default: ${DEFAULT-VALUE})")
    @Range(min = 0)
    int minChars;

    @Option(names = "--max-symbol-ratio", defaultValue = "" + PrepareOptions.DEFAULT_MAX_SYMBOL_RATIO, paramLabel = "X",
            description = "drop documents with more than X non-alphanumeric characters (default: ${DEFAULT-VALUE})")
    @Range(min = 0, max = 1)
    double maxSymbolRatio;

    @Option(names = "--text-column", defaultValue = PrepareOptions.DEFAULT_TEXT_COLUMN, paramLabel = "NAME",
            description = "JSON field or Parquet/ORC column holding the text (default: ${DEFAULT-VALUE})")
    String textColumn;

    @Option(names = "--source-column", paramLabel = "NAME", description = "JSON field or Parquet/ORC column naming each"
            + " document's source (default: none; where absent or null, the input's NAME)")
    String sourceColumn;

    @Option(names = "--source-shards", negatable = true, description = "give each source shards of its own, so that"
            + " a mixture can weight the sources of this dataset (--data NAME=DIR#SOURCE:WEIGHT); --no-source-shards mixes"
            + " them (default: apart when there are at most " + PrepareOptions.AUTO_SOURCE_SHARDS_LIMIT + " sources)")
    Boolean sourceShards;

    @Option(names = "--no-stage-tokens", description = "count tokens only as they are written, not per stage (by"
            + " default, with a given tokenizer, every stage reports the tokens it let through; each document's are"
            + " counted where it leaves the job, so only those a step removes or changes are encoded twice)")
    boolean noStageTokens;

    @Option(names = "--no-exact-dedup", description = "keep documents whose cleaned text equals another's (default:"
            + " removed, keeping the first by source and location)")
    boolean noExactDedup;

    @Option(names = "--no-near-dedup", description = "skip MinHash near-duplicate removal (default: on)")
    boolean noNearDedup;

    @Option(names = "--near-dedup-shingle", defaultValue = "" + NearDedupOptions.DEFAULT_SHINGLE_WORDS, paramLabel = "N",
            description = "words per shingle (default: ${DEFAULT-VALUE})")
    @Range(min = 1)
    int shingleWords;

    @Option(names = "--near-dedup-bands", defaultValue = "" + NearDedupOptions.DEFAULT_BANDS, paramLabel = "B",
            description = "MinHash bands (default: ${DEFAULT-VALUE})")
    @Range(min = 1, max = 1024)
    int bands;

    @Option(names = "--near-dedup-rows", defaultValue = "" + NearDedupOptions.DEFAULT_ROWS, paramLabel = "R",
            description = "MinHash values per band; bands x rows at most 1024 (default: ${DEFAULT-VALUE})")
    @Range(min = 1, max = 1024)
    int rows;

    @Option(names = "--near-dedup-threshold", defaultValue = "" + NearDedupOptions.DEFAULT_THRESHOLD, paramLabel = "J", description = "estimated Jaccard"
            + " similarity at which a candidate pair is a duplicate; the LLaMA paper's book rule is 0.9 (default:"
            + " ${DEFAULT-VALUE})")
    @Range(min = 0, max = 1, minExclusive = true)
    double threshold;

    @Option(names = "--decontaminate", arity = "1..*", paramLabel = "FILE", description = "evaluation task files (JSON"
            + " lines): remove documents sharing an n-gram with any string of an item; counted per file")
    List<String> decontaminate;

    @Option(names = "--decontaminate-ngram", defaultValue = "" + PrepareOptions.DEFAULT_DECONTAMINATION_NGRAM,
            paramLabel = "N", description = "words per n-gram for --decontaminate (default: ${DEFAULT-VALUE})")
    @Range(min = 1)
    int ngram;

    @Option(names = "--annotations", paramLabel = "DIR", description = "also write the annotations table: one Parquet"
            + " row per input document with every heuristic signal, duplicate groups, model scores and the step that"
            + " removed it (must not exist); histograms of each signal go to the dataset's histograms/")
    String annotations;

    @Option(names = "--from-annotations", paramLabel = "DIR", description = "build from a table written by --annotations:"
            + " the texts are read again (from the inputs recorded there unless --input is given), no signal is"
            + " computed; --where, --min-chars, --max-symbol-ratio and --min-quality apply to its columns")
    String fromAnnotations;

    @Option(names = "--where", paramLabel = "EXPR", description = "keep only documents satisfying this Spark SQL boolean"
            + " expression over the annotation columns, e.g. \"words >= 50 AND stop_words >= 2 AND NOT lorem_ipsum\";"
            + " each top-level AND-clause is counted in the report")
    String where;

    @Option(names = "--min-quality", paramLabel = "X", description = "keep only documents with quality_score >= X"
            + " (needs a quality classifier's column)")
    @Range(min = 0, max = 1)
    Double minQuality;

    @Option(names = "--classifier", paramLabel = "MODEL", description = "score every document reaching the filters"
            + " with a model written by train-classifier: the annotation column quality_score (filter with"
            + " --min-quality or --where)")
    String classifier;

    @Option(names = "--perplexity-model", paramLabel = "CHECKPOINT", description = "score every document reaching the"
            + " filters with a jllama checkpoint or run directory on the executors' CPU backend: the annotation"
            + " columns perplexity and perplexity_bucket (head/middle/tail by corpus-wide tertiles)")
    String perplexityModel;

    @Option(names = "--perplexity-window", paramLabel = "N", description = "tokens predicted per window of the"
            + " perplexity model (default: the checkpoint's training seq-len)")
    @Range(min = 1)
    Integer perplexityWindow;

    @Option(names = "--partitions", paramLabel = "N", description = "Spark partitions (default: one per 64 MiB"
            + " of input, at least Spark's default parallelism, rounded up to whole waves of it); the output is the same for any")
    @Range(min = 1)
    Integer partitions;

    @Option(names = "--master", paramLabel = "URL", description = "Spark master (default: spark-submit's, else local[*])")
    String master;

    @Option(names = "--config", paramLabel = "FILE.yaml", description = "options from a YAML file (option: value);"
            + " those given on the command line win")
    java.nio.file.Path config;

    @Option(names = "--dry-run", description = "check the inputs, the output and the tokenizer, print the resolved"
            + " configuration and stop, starting no Spark job")
    boolean dryRun;

    @Override
    void validate() {
        if (tokenizer != null && vocabSize != null) throw new UsageException("give --tokenizer or --vocab-size, not both");
        if (inputs == null && fromAnnotations == null) throw new UsageException("give --input (or --from-annotations)");
        if (perplexityWindow != null && perplexityModel == null) {
            throw new UsageException("--perplexity-window needs --perplexity-model");
        }
        if (annotations != null && fromAnnotations != null) {
            throw new UsageException("give --annotations or --from-annotations, not both");
        }
        if (fromAnnotations != null && decontaminate != null) {
            throw new UsageException("--from-annotations reuses the annotated run's decontamination: drop --decontaminate");
        }
    }

    @Override
    public Map<String, Object> run(PrintStream out) throws Exception {
        PrepareOptions options;
        if (inputs == null) {
            try {
                inputs = PrepareJob.annotatedInputs(CheckpointStore.toUri(fromAnnotations).toString(), new Configuration());
            } catch (IOException e) {
                throw new UsageException("--from-annotations " + fromAnnotations + ": " + e.getMessage());
            }
        }
        try {
            PrepareOptions base = vocabSize != null
                    ? PrepareOptions.withTrainedTokenizer(inputs, output, vocabSize)
                    : tokenizer != null
                    ? PrepareOptions.withTokenizerFile(inputs, output, tokenizer)
                    : PrepareOptions.withTokenizer(inputs, output, dev.jllama.data.tokenizer.Tokenizer.bundled());
            options = base.valFraction(valFraction).shardTokens(shardTokens).lineDupThreshold(lineDupThreshold)
                    .quality(new QualityFilter(minChars, maxSymbolRatio)).partitions(partitions == null ? 0 : partitions)
                    .columns(textColumn, sourceColumn).exactDedup(!noExactDedup)
                    .nearDedup(noNearDedup ? null : new NearDedupOptions(shingleWords, bands, rows, threshold))
                    .decontaminate(decontaminate == null ? List.of() : decontaminate, ngram)
                    .annotations(annotations).fromAnnotations(fromAnnotations).where(where)
                    .minQuality(minQuality == null ? Double.NaN : minQuality)
                    .scorers(scorers())
                    .sourceShards(sourceShards)
                    .stageTokens(!noStageTokens);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        if (dryRun) return dryRun(out);

        SparkConf conf = PrepareKryo.configure(new SparkConf().setAppName("jllama-prepare"));
        if (master != null) conf.setMaster(master);
        else if (!conf.contains("spark.master")) conf.setMaster("local[*]").set("spark.ui.enabled", "false");
        if (conf.get("spark.master").startsWith("local-cluster")) {
            // Executors of a local cluster start from this machine's files: give them this JVM's class path.
            conf.setIfMissing("spark.executor.extraClassPath", System.getProperty("java.class.path"));
        }
        try {
            SparkSecurity.secure(conf);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        PrepareResult r;
        try (JavaSparkContext sc = new JavaSparkContext(conf)) {
            try {
                PrepareJob.checkOptions(sc, options); // a bad --where fails here, before any work
            } catch (IllegalArgumentException e) {
                throw new UsageException(e.getMessage());
            }
            out.printf("preparing %s from %s on %s%n", output, String.join(", ", inputs), sc.master());
            r = PrepareJob.run(sc, options, out::println);
        }
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("dataset", r.dataset());
        result.put("seconds", Math.round(r.seconds() * 100) / 100.0);
        result.put("mb_per_s", Math.round(r.megabytesPerSecond() * 1000) / 1000.0);
        result.putAll(r.stats());
        return result;
    }

    /** The model-based signals asked for, each model checked here so that a bad one is a usage error. */
    private List<DocumentScorer> scorers() {
        Configuration hadoop = new Configuration();
        List<DocumentScorer> scorers = new ArrayList<>();
        try {
            if (classifier != null) scorers.add(DocumentScorers.classifier(classifier, hadoop));
        } catch (IllegalArgumentException e) {
            throw new UsageException("--classifier " + classifier + ": " + e.getMessage());
        }
        try {
            if (perplexityModel != null) {
                scorers.add(DocumentScorers.perplexity(perplexityModel, perplexityWindow,
                        DocumentScorers.DEFAULT_BATCH_TOKENS, 0, hadoop));
            }
        } catch (IllegalArgumentException e) {
            throw new UsageException("--perplexity-model " + perplexityModel + ": " + e.getMessage());
        }
        return scorers;
    }

    /** Everything {@code run} would check first, without Spark: inputs match files, the output is free. */
    private Map<String, Object> dryRun(PrintStream out) throws IOException {
        Configuration hadoop = new Configuration();
        for (String input : inputs) {
            Path path = new Path(CheckpointStore.toUri(PrepareOptions.inputPath(input)));
            FileStatus[] matches = path.getFileSystem(hadoop).globStatus(path);
            if (matches == null || matches.length == 0) throw new UsageException("--input " + input + " matches no file");
        }
        Path outPath = new Path(CheckpointStore.toUri(output));
        if (outPath.getFileSystem(hadoop).exists(outPath)) throw new UsageException("--output " + output + " already exists");
        if (tokenizer != null) dev.jllama.data.tokenizer.Tokenizer.fromBytes(TokenizeCommand.read(hadoop, tokenizer), tokenizer);
        Map<String, Object> resolved = ResolvedOptions.of(spec);
        out.println("prepare would run with: " + Json.line(resolved));
        return Map.of("dry_run", true, "config", resolved);
    }
}
