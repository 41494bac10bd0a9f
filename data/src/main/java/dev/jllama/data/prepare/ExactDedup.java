package dev.jllama.data.prepare;

import java.util.Comparator;
import org.apache.spark.api.java.JavaRDD;
import scala.Tuple2;

/**
 * Document-level exact deduplication. Documents are equal when their cleaned text is equal ({@link TextCleaner}:
 * NFC, control characters removed, whitespace collapsed, lines trimmed), which {@link Doc#key()} (SHA-256 of that
 * text) decides. Of each group the copy whose (source, location) sorts first is kept, so which source a kept
 * document counts for depends on the content alone, not on input order or partitioning.
 */
final class ExactDedup {
    private ExactDedup() {}

    static final String RULE = "SHA-256 of the cleaned text; of equal documents the first by (source, location) is kept";

    static final Comparator<Doc> KEEP_ORDER = Comparator.comparing(Doc::source).thenComparing(Doc::location);

    static JavaRDD<Doc> apply(JavaRDD<Doc> docs, int partitions) {
        return docs.mapToPair(d -> new Tuple2<>(d.key(), d))
                .reduceByKey((a, b) -> KEEP_ORDER.compare(a, b) <= 0 ? a : b, partitions)
                .values();
    }
}
