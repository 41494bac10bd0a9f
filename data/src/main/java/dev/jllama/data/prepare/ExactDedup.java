package dev.jllama.data.prepare;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
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

    /**
     * For annotating: every document, the removed copies tagged {@code exact_dedup}, and each copy of a text that
     * occurs more than once given its key as exact group. The same copy is kept as by {@link #apply}; of copies
     * equal in source and location too (indistinguishable), the first of the group is kept.
     */
    static JavaRDD<Doc> tagged(JavaRDD<Doc> docs, int partitions) {
        return docs.mapToPair(d -> new Tuple2<>(d.key(), d))
                .groupByKey(partitions)
                .flatMap(group -> {
                    List<Doc> copies = new ArrayList<>();
                    group._2().forEach(copies::add);
                    if (copies.size() == 1) return copies.iterator();
                    copies.sort(KEEP_ORDER);
                    List<Doc> out = new ArrayList<>(copies.size());
                    for (int i = 0; i < copies.size(); i++) {
                        Doc d = copies.get(i).groups(group._1(), null);
                        out.add(i == 0 ? d : d.removedBy("exact_dedup"));
                    }
                    return out.iterator();
                });
    }
}
