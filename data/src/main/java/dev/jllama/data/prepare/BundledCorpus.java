package dev.jllama.data.prepare;

import dev.jllama.data.shard.Dataset;
import dev.jllama.data.shard.Manifest;
import dev.jllama.data.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.function.Consumer;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;

/**
 * The sample corpus shipped in this jar (nlp-corpus 4.4.0, MIT; see LICENSE-nlp-corpus.md beside it), prepared
 * into a token dataset with the bundled tokenizer on first use and cached.
 */
public final class BundledCorpus {
    private BundledCorpus() {}

    public static final String RESOURCE = "/dev/jllama/data/corpus/nlp-corpus-4.4.0.train.txt.gz";
    /** Directory name inside the cache; bump the suffix whenever the preparation's output would change. */
    public static final String DATASET_NAME = "nlp-corpus-4.4.0-spm-bpe-4096-v2";
    public static final double VAL_FRACTION = 0.05;
    public static final long SHARD_TOKENS = 1_000_000;

    /** Prepares (unless already complete in cacheDir) and returns the dataset directory. */
    public static Path prepare(Path cacheDir) {
        return prepare(cacheDir, msg -> {});
    }

    public static Path prepare(Path cacheDir, Consumer<String> log) {
        Path dataset = cacheDir.toAbsolutePath().resolve(DATASET_NAME);
        try {
            if (opens(dataset)) return dataset;
            Files.createDirectories(cacheDir);
            if (Files.exists(dataset)) deleteTree(dataset); // a cache entry without a valid manifest is junk
            // Unpacked, because a gzip file cannot be split between Spark tasks.
            Path input = cacheDir.toAbsolutePath().resolve("nlp-corpus-4.4.0.train.txt");
            try (InputStream res = BundledCorpus.class.getResourceAsStream(RESOURCE)) {
                if (res == null) throw new IOException("resource " + RESOURCE + " is missing from the class path");
                try (InputStream in = new java.util.zip.GZIPInputStream(res)) {
                    Files.copy(in, input, StandardCopyOption.REPLACE_EXISTING);
                }
            }
            PrepareOptions options = PrepareOptions
                    .withTokenizer(List.of(input.toUri().toString()), dataset.toUri().toString(), Tokenizer.bundled())
                    .valFraction(VAL_FRACTION)
                    .shardTokens(SHARD_TOKENS);
            SparkSession active = SparkSession.getActiveSession().getOrElse(() -> SparkSession.getDefaultSession().getOrElse(() -> null));
            SparkSession spark = active != null ? active : SparkSession.builder()
                    .master("local[2]")
                    .appName("jllama-prepare-bundled-corpus")
                    .config("spark.ui.enabled", "false")
                    .config(PrepareKryo.configure(new SparkConf(false)))
                    .getOrCreate();
            try {
                PrepareJob.run(JavaSparkContext.fromSparkContext(spark.sparkContext()), options, log);
            } catch (IOException e) {
                if (!opens(dataset)) throw e; // another process may have finished the same cache entry first
            } finally {
                if (active == null) spark.stop();
                Files.deleteIfExists(input);
            }
            return dataset;
        } catch (IOException e) {
            throw new UncheckedIOException("preparing the bundled corpus in " + cacheDir + " failed: " + e.getMessage(), e);
        }
    }

    /**
     * Whether the cache entry opens, has chunk checksums and names its shards' source (one prepared before either is
     * prepared again).
     */
    private static boolean opens(Path dataset) {
        if (!Files.isRegularFile(dataset.resolve(Manifest.FILE_NAME))) return false;
        try {
            Manifest m = Dataset.open(dataset.toUri().toString(), new Configuration()).manifest();
            return m.chunkBytes() != null && m.split("train").shardedBySource();
        } catch (IOException e) {
            return false;
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        try (var paths = Files.walk(dir)) {
            for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }
}
