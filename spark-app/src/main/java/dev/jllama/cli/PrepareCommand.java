package dev.jllama.cli;

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

/** {@code llama prepare}: text/JSONL → cleaned, deduplicated, tokenised token shards with a manifest (on Spark). */
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
                  --input PATH...          text files (documents separated by blank lines) or *.jsonl with a "text"
                                           field; files, directories or globs; local paths or Hadoop URIs (hdfs://)
                  --output DIR             dataset directory to create (must not exist); appears only when complete
                  --tokenizer FILE.model   SentencePiece model to use (default: the bundled 4096-piece model)
                  --vocab-size N           instead, train a BPE tokenizer of N pieces on the cleaned training split
                  --val-fraction F         share of documents for the validation split, by document hash (default 0.01)
                  --shard-tokens N         tokens per shard (default 100000000)
                  --line-dup-threshold N   remove lines occurring more than N times in the corpus (default 2; 0: off)
                  --min-chars N            drop documents shorter than N characters (default 100)
                  --max-symbol-ratio X     drop documents with more than X non-alphanumeric characters (default 0.25)
                  --partitions N           Spark partitions (default: Spark's default parallelism); output is the same
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
                    .quality(new QualityFilter(minChars, maxSymbols)).partitions(partitions);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }

        SparkConf conf = new SparkConf().setAppName("jllama-prepare");
        if (master != null) conf.setMaster(master);
        else if (!conf.contains("spark.master")) conf.setMaster("local[*]").set("spark.ui.enabled", "false");
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
