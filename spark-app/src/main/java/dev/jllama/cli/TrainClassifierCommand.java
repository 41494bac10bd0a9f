package dev.jllama.cli;

import dev.jllama.data.prepare.PrepareOptions;
import dev.jllama.driver.SparkSecurity;
import dev.jllama.model.checkpoint.CheckpointStore;
import dev.jllama.scoring.ClassifierTraining;
import java.io.IOException;
import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code llama train-classifier}: the LLaMA paper's quality classifier (or a language identifier), a linear model over
 * hashed word unigrams and bigrams telling positive documents from negative ones, trained and evaluated on Spark.
 */
@Command(name = "train-classifier", description = "A linear classifier over hashed word unigrams and bigrams that"
        + " tells --positive documents from --negative ones (the LLaMA paper's quality classifier, or a language"
        + " identifier), trained on Spark; reports held-out AUC, accuracy and score quantiles, and writes a model"
        + " that prepare applies on the executors.")
public final class TrainClassifierCommand extends LlamaCommand {

    @Option(names = "--positive", required = true, arity = "1..*", paramLabel = "PATH", description = "documents of"
            + " the positive class (e.g. pages cited by Wikipedia): files, directories or globs in any format prepare"
            + " reads")
    List<String> positive;

    @Option(names = "--negative", required = true, arity = "1..*", paramLabel = "PATH",
            description = "documents of the negative class (e.g. random Common Crawl pages)")
    List<String> negative;

    @Option(names = "--out", required = true, paramLabel = "MODEL",
            description = "the model file to write (must not exist); local path or Hadoop URI")
    String out;

    @Option(names = "--text-column", defaultValue = PrepareOptions.DEFAULT_TEXT_COLUMN, paramLabel = "NAME",
            description = "JSON field or Parquet/ORC column holding the text (default: ${DEFAULT-VALUE})")
    String textColumn;

    @Option(names = "--features", defaultValue = "262144", paramLabel = "N",
            description = "hash buckets for the unigrams and bigrams (default: ${DEFAULT-VALUE})")
    @Range(min = 2)
    int features;

    @Option(names = "--held-out", defaultValue = "0.1", paramLabel = "F",
            description = "share of documents, by document hash, kept out of training to evaluate on"
                    + " (default: ${DEFAULT-VALUE})")
    @Range(min = 0, max = 1, minExclusive = true, maxExclusive = true)
    double heldOut;

    @Option(names = "--seed", defaultValue = "1234", paramLabel = "S",
            description = "picks the held-out documents together with their hash (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--reg", defaultValue = "0.0001", paramLabel = "X",
            description = "L2 penalty: the objective is mean log-loss + X/2 times the squared weights"
                    + " (default: ${DEFAULT-VALUE})")
    @Range(min = 0)
    double reg;

    @Option(names = "--max-iter", defaultValue = "100", paramLabel = "N",
            description = "L-BFGS iterations at most (default: ${DEFAULT-VALUE})")
    @Range(min = 1)
    int maxIter;

    @Option(names = "--master", paramLabel = "URL", description = "Spark master (default: spark-submit's, else local[*])")
    String master;

    @Override
    public Map<String, Object> run(PrintStream printer) throws Exception {
        Path model = new Path(CheckpointStore.toUri(out));
        checkWritable(model, new Configuration());
        SparkConf conf = new SparkConf().setAppName("jllama-train-classifier");
        if (master != null) conf.setMaster(master);
        else if (!conf.contains("spark.master")) conf.setMaster("local[*]").set("spark.ui.enabled", "false");
        if (conf.get("spark.master").startsWith("local-cluster")) {
            conf.setIfMissing("spark.executor.extraClassPath", System.getProperty("java.class.path"));
        }
        try {
            SparkSecurity.secure(conf);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        Map<String, Object> result = new LinkedHashMap<>();
        try (JavaSparkContext sc = new JavaSparkContext(conf)) {
            printer.printf("training a classifier on %s (positive) and %s (negative) on %s%n",
                    String.join(", ", positive), String.join(", ", negative), sc.master());
            ClassifierTraining.Result r;
            try {
                r = ClassifierTraining.train(sc, new ClassifierTraining.Options(positive, negative, textColumn,
                        features, heldOut, seed, reg, maxIter), printer::println);
            } catch (Exception e) { // Spark's Scala code throws SparkException undeclared
                if (e instanceof org.apache.spark.SparkException failed) throw taskFailure(failed);
                throw e;
            }
            r.model().write(model.toString(), sc.hadoopConfiguration());
            result.put("model", model.toString());
            result.putAll(r.metrics());
        }
        printer.printf("%-26s %s%n", "model", result.get("model"));
        printer.printf("%-26s %.4f%n", "held-out AUC", (double) result.get("auc"));
        printer.printf("%-26s %.4f%n", "held-out accuracy", (double) result.get("accuracy"));
        printer.printf("%-26s %s%n", "positive scores", result.get("positive_score_quantiles"));
        printer.printf("%-26s %s%n", "negative scores", result.get("negative_score_quantiles"));
        return result;
    }

    /** A task's IOException (bad input, unreadable file) reaches the driver wrapped by Spark; surface its message. */
    private static IOException taskFailure(org.apache.spark.SparkException e) {
        for (Throwable c = e.getCause(); c != null; c = c.getCause()) {
            if (c instanceof IOException io) return new IOException(io.getMessage(), e);
        }
        return new IOException("training job failed: " + e.getMessage(), e);
    }

    /** The model file must be new and its directory writable: found before training, not after. */
    private static void checkWritable(Path model, Configuration conf) throws IOException {
        FileSystem fs = model.getFileSystem(conf);
        if (fs.exists(model)) throw new UsageException("--out " + model + " already exists");
        try {
            fs.create(model, false).close();
            fs.delete(model, false);
        } catch (IOException e) {
            throw new UsageException("--out " + model + " cannot be written: " + e.getMessage().lines().findFirst().orElse(""));
        }
    }
}
