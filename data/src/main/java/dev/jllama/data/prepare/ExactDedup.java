package dev.jllama.data.prepare;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
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

    /**
     * The documents that remain, in output order: range-partitioned by key ({@link KeyRanges}, {@code partitions}
     * ranges) and sorted by key within each partition, so that later steps filter them where they lie and the
     * tokeniser writes them without another shuffle.
     */
    static JavaRDD<Doc> apply(JavaRDD<Doc> docs, int partitions) {
        return docs.mapToPair(d -> new Tuple2<>(d.key(), d))
                .repartitionAndSortWithinPartitions(new KeyRanges(partitions))
                .mapPartitions(ExactDedup::firstOfEachKey, true);
    }

    /** Of each run of equal keys in key-sorted input, the copy that {@link #KEEP_ORDER} puts first. */
    private static Iterator<Doc> firstOfEachKey(Iterator<Tuple2<String, Doc>> sorted) {
        return new Iterator<>() {
            private Doc pending = sorted.hasNext() ? sorted.next()._2() : null;

            @Override
            public boolean hasNext() {
                return pending != null;
            }

            @Override
            public Doc next() {
                if (pending == null) throw new NoSuchElementException();
                Doc kept = pending;
                pending = null;
                while (sorted.hasNext()) {
                    Doc d = sorted.next()._2();
                    if (!d.key().equals(kept.key())) {
                        pending = d;
                        break;
                    }
                    if (KEEP_ORDER.compare(d, kept) < 0) kept = d;
                }
                return kept;
            }
        };
    }

    /**
     * For annotating: every document, in {@link #apply}'s output order (the copies of a text by {@link #KEEP_ORDER}),
     * those removed tagged {@code exact_dedup} and each copy of a text that occurs more than once given its key as
     * exact group. The same copy is kept as by {@link #apply}; of copies equal in source and location too
     * (indistinguishable), the first is kept. Documents an earlier step removed pass through, untagged.
     */
    static JavaRDD<Doc> tagged(JavaRDD<Doc> docs, int partitions) {
        return runs(docs, partitions, true);
    }

    /**
     * As {@link #tagged}, but no document is given a group: every document in output order, those removed tagged
     * {@code exact_dedup}, so that a counting pass sees them ({@link StageTokens}).
     */
    static JavaRDD<Doc> marked(JavaRDD<Doc> docs, int partitions) {
        return runs(docs, partitions, false);
    }

    private static JavaRDD<Doc> runs(JavaRDD<Doc> docs, int partitions, boolean grouped) {
        return docs.mapToPair(d -> new Tuple2<>(d.key(), d))
                .repartitionAndSortWithinPartitions(new KeyRanges(partitions))
                .mapPartitions(it -> taggedRuns(it, grouped), true);
    }

    /** Each run of equal keys in key-sorted input, in {@link #KEEP_ORDER}, its copies tagged (and grouped). */
    private static Iterator<Doc> taggedRuns(Iterator<Tuple2<String, Doc>> sorted, boolean grouped) {
        return new Iterator<>() {
            private final ArrayDeque<Doc> ready = new ArrayDeque<>();
            private Doc pending = sorted.hasNext() ? sorted.next()._2() : null;

            @Override
            public boolean hasNext() {
                if (ready.isEmpty() && pending != null) nextRun();
                return !ready.isEmpty();
            }

            @Override
            public Doc next() {
                if (!hasNext()) throw new NoSuchElementException();
                return ready.poll();
            }

            private void nextRun() {
                List<Doc> run = new ArrayList<>();
                run.add(pending);
                pending = null;
                while (sorted.hasNext()) {
                    Doc d = sorted.next()._2();
                    if (!d.key().equals(run.getFirst().key())) {
                        pending = d;
                        break;
                    }
                    run.add(d);
                }
                run.sort(KEEP_ORDER);
                long copies = run.stream().filter(d -> d.removedBy() == null).count();
                boolean first = true;
                for (Doc d : run) {
                    if (copies > 1 && d.removedBy() == null) {
                        if (grouped) d = d.groups(d.key(), null);
                        if (!first) d = d.removedBy("exact_dedup");
                        first = false;
                    }
                    ready.add(d);
                }
            }
        };
    }
}
