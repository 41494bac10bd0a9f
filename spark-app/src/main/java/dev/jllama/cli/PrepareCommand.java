package dev.jllama.cli;

import dev.jllama.data.prepare.NearDedupOptions;
import dev.jllama.data.prepare.PrepareJob;
import dev.jllama.data.prepare.PrepareOptions;
import dev.jllama.data.prepare.PrepareResult;
import dev.jllama.data.prepare.QualityFilter;
import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * {@code llama prepare}: text, JSONL, Parquet, ORC, WET → cleaned, deduplicated (exact and near), decontaminated,
 * filtered, tokenised token shards with a manifest and a per-source report (on Spark).
 */
public final class PrepareCommand implements Command {

    @Override
    public String name() {
        return "prepare";
    }

    @Override
    public String usage() {
        return """
                llama prepare --input PATH... --output DIR [--tokenizer FILE.model | --vocab-size N] [--val-fraction F]
                              [--shard-tokens N] [--master URL] [--json]
                  --input [NAME=]PATH...   files, directories or globs; local paths or Hadoop URIs (hdfs://). By name:
                                           *.parquet, *.orc, *.warc.wet[.gz] (Common Crawl WET), *.jsonl / *.json /
                                           *.ndjson (also .gz, .bz2, .zst), else text with documents separated by
                                           blank lines (also .gz, .bz2). NAME is the source the documents count for
                                           (default: the path's last name without extensions)
                  --output DIR             dataset directory to create (must not exist); appears only when complete
                  --tokenizer FILE.model   SentencePiece model to use (default: the bundled 4096-piece model)
                  --vocab-size N           instead, train a BPE tokenizer of N pieces on the cleaned training split
                  --val-fraction F         share of documents for the validation split, by document hash (default 0.01)
                  --shard-tokens N         tokens per shard (default 100000000)
                  --line-dup-threshold N   remove lines occurring more than N times in the corpus (default 2; 0: off)
                  --min-chars N            drop documents shorter than N characters (default 100)
                  --max-symbol-ratio X     drop documents with more than X non-alphanumeric characters (default 0.25)
                  --text-column NAME       JSON field or Parquet/ORC column holding the text (default text)
                  --source-column NAME     JSON field or Parquet/ORC column naming each document's source (default:
                                           none; where absent or null, the input's NAME)
                  --no-exact-dedup         keep documents whose cleaned text equals another's (default: removed)
                  --no-near-dedup          skip MinHash near-duplicate removal (default: on)
                  --near-dedup-shingle N   words per shingle (default 5)
                  --near-dedup-bands B     MinHash bands (default 14)
                  --near-dedup-rows R      MinHash values per band (default 8)
                  --near-dedup-threshold J estimated Jaccard similarity at which a candidate pair is a duplicate
                                           (default 0.8; the LLaMA book rule: 0.9)
                  --decontaminate FILE...  evaluation task files (JSON lines): remove documents sharing an n-gram
                                           with any string of an item
                  --decontaminate-ngram N  words per n-gram for --decontaminate (default 13)
                  --partitions N           Spark partitions (default: Spark's default parallelism, at least one per
                                           64 MiB of input); the output is the same for any number
                  --master URL             Spark master (default: spark-submit's, else local[*])""";
    }

    @Override
    public Map<String, Object> run(Args args, PrintStream out) throws Exception {
        List<String> inputs = args.list("input");
        if (inputs.isEmpty()) throw new UsageException("missing required option --input");
        String output = args.required("output");
        String tokenizer = args.string("tokenizer", null);
        int vocabSize = args.integer("vocab-size", 0);
        if (tokenizer != null && vocabSize > 0) throw new UsageException("give --tokenizer or --vocab-size, not both");
        if (args.has("vocab-size") && vocabSize <= 258) {
            throw new UsageException("--vocab-size must exceed 258 (3 special pieces and 256 byte pieces), got " + vocabSize);
        }
        double valFraction = args.number("val-fraction", PrepareOptions.DEFAULT_VAL_FRACTION);
        long shardTokens = args.longValue("shard-tokens", PrepareOptions.DEFAULT_SHARD_TOKENS);
        int lineDup = args.integer("line-dup-threshold", PrepareOptions.DEFAULT_LINE_DUP_THRESHOLD);
        int minChars = args.integer("min-chars", PrepareOptions.DEFAULT_QUALITY.minChars());
        double maxSymbols = args.number("max-symbol-ratio", PrepareOptions.DEFAULT_QUALITY.maxSymbolRatio());
        int partitions = args.integer("partitions", 0);
        String textColumn = args.string("text-column", PrepareOptions.DEFAULT_TEXT_COLUMN);
        String sourceColumn = args.string("source-column", null);
        boolean exactDedup = !args.flag("no-exact-dedup");
        boolean nearDedup = !args.flag("no-near-dedup");
        NearDedupOptions near = NearDedupOptions.DEFAULT;
        int shingle = args.integer("near-dedup-shingle", near.shingleWords());
        int bands = args.integer("near-dedup-bands", near.bands());
        int rows = args.integer("near-dedup-rows", near.rows());
        double threshold = args.number("near-dedup-threshold", near.threshold());
        List<String> tasks = args.list("decontaminate");
        int ngram = args.integer("decontaminate-ngram", PrepareOptions.DEFAULT_DECONTAMINATION_NGRAM);
        String master = args.string("master", null);
        args.checkAllUsed();

        PrepareOptions options;
        try {
            PrepareOptions base = vocabSize > 0
                    ? PrepareOptions.withTrainedTokenizer(inputs, output, vocabSize)
                    : tokenizer != null
                    ? PrepareOptions.withTokenizerFile(inputs, output, tokenizer)
                    : PrepareOptions.withTokenizer(inputs, output, dev.jllama.data.tokenizer.Tokenizer.bundled());
            options = base.valFraction(valFraction).shardTokens(shardTokens).lineDupThreshold(lineDup)
                    .quality(new QualityFilter(minChars, maxSymbols)).partitions(partitions)
                    .columns(textColumn, sourceColumn).exactDedup(exactDedup)
                    .nearDedup(nearDedup ? new NearDedupOptions(shingle, bands, rows, threshold) : null)
                    .decontaminate(tasks, ngram);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }

        SparkConf conf = new SparkConf().setAppName("jllama-prepare");
        if (master != null) conf.setMaster(master);
        else if (!conf.contains("spark.master")) conf.setMaster("local[*]").set("spark.ui.enabled", "false");
        if (conf.get("spark.master").startsWith("local-cluster")) {
            // Executors of a local cluster start from this machine's files: give them this JVM's class path.
            conf.setIfMissing("spark.executor.extraClassPath", System.getProperty("java.class.path"));
        }
        PrepareResult r;
        try (JavaSparkContext sc = new JavaSparkContext(conf)) {
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
}
