package dev.jllama.data.prepare;

import dev.jllama.data.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;
import scala.Tuple2;

/**
 * The annotation step: every document's text after frequent-line removal gets all {@link HeuristicSignals} (one
 * pass over the text) and the scorers' columns ({@link DocumentScorer}: opened once per partition, fed batches),
 * then the clauses of the {@link FilterExpression} are evaluated by Spark SQL over those columns. The result is the
 * annotations table (one row per document given, with the step that removed it) and the documents that go on to
 * the split and tokenisation.
 */
final class AnnotationPass {
    private AnnotationPass() {}

    static final String PERPLEXITY = "perplexity";
    static final String BUCKET = "perplexity_bucket";
    static final String REMOVED_BY = "removed_by";
    /** The step name for documents the frequent-line filter emptied. */
    static final String LINE_FILTER_STEP = "line_filter";
    /** The step name for documents failing a clause of the filter expression. */
    static final String FILTER_STEP = "quality_filter";
    private static final int BATCH = 64;
    private static final String REACHED = "_reached_filter", CLAUSE = "_clause_";

    /** A document with its signals and scores (NaN where not scored), before the filter. */
    record Annotated(Doc doc, double[] signals, double[] scores) implements Serializable {}

    /**
     * The outcome: the table to write (no text; its signals persisted; rows sorted by id, source and url), the
     * documents for the split (those that reached the line filter, in output order: {@link KeyRanges} partitions,
     * sorted), per source the documents annotated, those that reached the filter and those of them failing each
     * clause ({@link #clauseCounts}), and the perplexity tertiles (null: no perplexity scorer). {@code sorted} is
     * the documents put into output order here (persisted), or null when they came so.
     */
    record Outcome(Dataset<Row> table, JavaRDD<Judged> judged, Map<String, long[]> failingBySource, double[] tertiles,
                   SignalHistograms.Bins histograms, JavaRDD<Doc> sorted, Dataset<Row> cached) {
        long annotated() {
            return failingBySource.values().stream().mapToLong(c -> c[0]).sum();
        }

        /**
         * Drops the cached signals (and documents sorted here), once the table is written and a pass over the
         * judged documents has cached them (they are computed from both).
         */
        void release() {
            if (sorted != null) sorted.unpersist(false);
            cached.unpersist(false);
        }
    }

    /** The documents of an annotations table that reached its filter, each with its clauses' outcomes. */
    record Selection(JavaPairRDD<String, boolean[]> clauses, Map<String, long[]> failingBySource) {}

    /** The key that matches a document read again to its row: id, source and url. */
    static String rowKey(String id, String source, String url) {
        return id + '\u0000' + source + '\u0000' + url;
    }

    /**
     * Evaluates the clauses over a table written by an earlier run; the documents that reached its filter
     * (removed by nothing else) are candidates again. No signal is computed: the clauses read the stored columns.
     */
    static Selection select(Dataset<Row> table, FilterExpression filter, int partitions) {
        int n = filter.clauses().size();
        Dataset<Row> df = table.withColumn(REACHED, functions.col(REMOVED_BY).isNull()
                .or(functions.col(REMOVED_BY).equalTo(FILTER_STEP)));
        for (int i = 0; i < n; i++) df = df.withColumn(CLAUSE + i, filter.column(i));
        Map<String, long[]> failing = clauseCounts(df, n);
        List<Column> columns = new ArrayList<>(List.of(functions.col("id"), functions.col("source"), functions.col("url")));
        for (int i = 0; i < n; i++) columns.add(functions.col(CLAUSE + i));
        JavaPairRDD<String, boolean[]> clauses = df.filter(functions.col(REACHED)).select(columns.toArray(Column[]::new))
                .javaRDD()
                .mapToPair(r -> {
                    boolean[] c = new boolean[n];
                    for (int i = 0; i < n; i++) c[i] = r.getBoolean(3 + i);
                    return new Tuple2<>(rowKey(r.getString(0), r.getString(1), r.getString(2)), c);
                })
                .reduceByKey((a, b) -> a, partitions); // copies alike in id, source and url have one row each
        return new Selection(clauses, failing);
    }

    /** Per source: documents, documents that reached the filter, and of those the ones failing clause 0, 1, ... */
    private static Map<String, long[]> clauseCounts(Dataset<Row> df, int n) {
        return aggregate(df, n, List.of()).failingBySource();
    }

    /** Per source the clause counts; per column the least and greatest value (+inf and -inf where there is none). */
    private record Aggregate(Map<String, long[]> failingBySource, double[] min, double[] max) {}

    /**
     * {@link #clauseCounts} and, over the documents that reached the filter, each of {@code ranged}'s columns' least
     * and greatest value (NaN and null skipped): one aggregation, one pass.
     */
    private static Aggregate aggregate(Dataset<Row> df, int n, List<String> ranged) {
        List<Column> counted = new ArrayList<>();
        counted.add(functions.sum(functions.when(functions.col(REACHED), 1).otherwise(0)));
        for (int i = 0; i < n; i++) {
            counted.add(functions.sum(functions.when(functions.col(REACHED).and(functions.not(functions.col(CLAUSE + i))), 1)
                    .otherwise(0)));
        }
        for (String c : ranged) {
            Column v = functions.col(c).cast(DataTypes.DoubleType);
            Column valued = functions.when(functions.col(REACHED).and(functions.not(functions.isnan(v))), v);
            counted.add(functions.min(valued));
            counted.add(functions.max(valued));
        }
        Map<String, long[]> out = new TreeMap<>();
        double[] min = new double[ranged.size()];
        double[] max = new double[ranged.size()];
        java.util.Arrays.fill(min, Double.POSITIVE_INFINITY);
        java.util.Arrays.fill(max, Double.NEGATIVE_INFINITY);
        for (Row r : df.groupBy("source").agg(functions.count(functions.lit(1)), counted.toArray(Column[]::new))
                .collectAsList()) {
            long[] c = new long[n + 2];
            for (int i = 0; i < n + 2; i++) c[i] = r.isNullAt(i + 1) ? 0 : ((Number) r.get(i + 1)).longValue();
            out.put(r.getString(0), c);
            for (int i = 0; i < ranged.size(); i++) {
                int at = n + 3 + 2 * i;
                if (!r.isNullAt(at)) min[i] = Math.min(min[i], r.getDouble(at));
                if (!r.isNullAt(at + 1)) max[i] = Math.max(max[i], r.getDouble(at + 1));
            }
        }
        return new Aggregate(out, min, max);
    }

    /** The filter's verdict from the clauses' outcomes: clause 0 is min chars, clause 1 max symbol ratio. */
    static QualityFilter.Verdict verdict(boolean[] clauses) {
        if (!clauses[0]) return QualityFilter.Verdict.TOO_SHORT;
        if (!clauses[1]) return QualityFilter.Verdict.TOO_SYMBOLIC;
        for (int i = 2; i < clauses.length; i++) if (!clauses[i]) return QualityFilter.Verdict.FILTERED;
        return QualityFilter.Verdict.KEEP;
    }

    /** The annotations table's schema for the given scorer columns. */
    static StructType tableSchema(List<String> scoreColumns) {
        List<StructField> f = new ArrayList<>(baseFields(scoreColumns));
        if (scoreColumns.contains(PERPLEXITY)) f.add(DataTypes.createStructField(BUCKET, DataTypes.StringType, true));
        f.add(DataTypes.createStructField(REMOVED_BY, DataTypes.StringType, true));
        return DataTypes.createStructType(f);
    }

    private static List<StructField> baseFields(List<String> scoreColumns) {
        List<StructField> f = new ArrayList<>();
        f.add(DataTypes.createStructField("id", DataTypes.StringType, false));
        f.add(DataTypes.createStructField("source", DataTypes.StringType, false));
        f.add(DataTypes.createStructField("url", DataTypes.StringType, false));
        for (HeuristicSignals.Signal s : HeuristicSignals.SIGNALS) {
            DataType t = switch (s.type()) {
                case LONG -> DataTypes.LongType;
                case DOUBLE -> DataTypes.DoubleType;
                case BOOLEAN -> DataTypes.BooleanType;
            };
            f.add(DataTypes.createStructField(s.name(), t, false));
        }
        f.add(DataTypes.createStructField("exact_group", DataTypes.StringType, true));
        f.add(DataTypes.createStructField("near_group", DataTypes.StringType, true));
        for (String c : scoreColumns) f.add(DataTypes.createStructField(c, DataTypes.DoubleType, true));
        return f;
    }

    /** The numeric columns of the table, whose histograms the report draws. */
    static List<String> numericColumns(List<String> scoreColumns) {
        List<String> out = new ArrayList<>();
        for (HeuristicSignals.Signal s : HeuristicSignals.SIGNALS) {
            if (s.type() != HeuristicSignals.Type.BOOLEAN) out.add(s.name());
        }
        out.addAll(scoreColumns);
        return out;
    }

    /**
     * Annotates {@code docs} (every document read, those an earlier step removed tagged) and judges those that
     * reached the line filter. {@code keyOrdered}: the documents are in output order already (a deduplication's
     * tagged output), so that neither the table nor the tokeniser sorts them again.
     */
    static Outcome run(SparkSession spark, JavaRDD<Doc> docs, boolean keyOrdered, Broadcast<long[]> frequent,
                       List<DocumentScorer> scorers, FilterExpression filter, Broadcast<byte[]> hconf, int partitions,
                       Broadcast<byte[]> countingModel) {
        List<String> scoreColumns = scorers.stream().map(DocumentScorer::column).toList();
        // Into output order (key ranges, sorted by id, source and url within each) unless they are in it.
        JavaRDD<Doc> sorted = keyOrdered ? null : docs
                .mapToPair(d -> new Tuple2<>(rowKey(d.key(), d.source(), d.location()), d))
                .repartitionAndSortWithinPartitions(new KeyRanges(partitions))
                .values()
                .persist(StorageLevel.MEMORY_AND_DISK_SER());
        JavaRDD<Doc> ordered = keyOrdered ? docs : sorted;
        JavaRDD<Annotated> annotated = ordered.map(d -> annotate(d, frequent.value(), scorers.size()));
        if (!scorers.isEmpty()) annotated = annotated.mapPartitions(it -> score(it, scorers, hconf.value()));

        // The texts stay out of Spark SQL: the table is the signals alone (computed once, cached), and each document
        // meets its clauses' outcomes again by position (the table's partitions are the documents' partitions, in
        // the same order).
        List<StructField> fields = new ArrayList<>(baseFields(scoreColumns));
        fields.add(DataTypes.createStructField(REMOVED_BY, DataTypes.StringType, true));
        Dataset<Row> signals = spark.createDataFrame(annotated.map(AnnotationPass::row), DataTypes.createStructType(fields))
                .persist(StorageLevel.MEMORY_AND_DISK_SER());
        Column reached = functions.col(REMOVED_BY).isNull();
        Dataset<Row> df = signals;
        double[] tertiles = null;
        if (scoreColumns.contains(PERPLEXITY)) {
            tertiles = tertiles(signals.filter(reached).select(PERPLEXITY).na().drop().javaRDD().map(r -> r.getDouble(0)),
                    partitions);
            Column p = functions.col(PERPLEXITY);
            df = df.withColumn(BUCKET, tertiles == null ? functions.lit(null).cast("string")
                    : functions.when(p.isNull(), functions.lit(null).cast("string"))
                            .when(p.lt(tertiles[0]), "head").when(p.lt(tertiles[1]), "middle").otherwise("tail"));
        }
        // The clauses in one projection (a clause may read the bucket), the filter's verdict from their columns in
        // the next.
        int n = filter.clauses().size();
        Map<String, Column> added = new LinkedHashMap<>();
        added.put(REACHED, reached);
        Column passes = functions.lit(true);
        for (int i = 0; i < n; i++) {
            added.put(CLAUSE + i, filter.column(i));
            passes = passes.and(functions.col(CLAUSE + i));
        }
        df = df.withColumns(added).withColumn(REMOVED_BY,
                functions.when(reached.and(functions.not(passes)), functions.lit(FILTER_STEP)).otherwise(functions.col(REMOVED_BY)));
        // The histograms' ranges come with the clause counts, their counts from the cached columns: neither pass
        // reads a text again.
        List<String> numeric = numericColumns(scoreColumns);
        Aggregate aggregate = aggregate(df, n, numeric);
        double[][] range = SignalHistograms.ranges(aggregate.min(), aggregate.max(), numeric, filter.thresholds());
        Column[] sourceAndNumeric = new Column[numeric.size() + 1];
        sourceAndNumeric[0] = functions.col("source");
        for (int i = 0; i < numeric.size(); i++) sourceAndNumeric[i + 1] = functions.col(numeric.get(i)).cast(DataTypes.DoubleType);
        SignalHistograms.Bins bins = SignalHistograms.count(df.filter(functions.col(REACHED)).select(sourceAndNumeric).javaRDD()
                .map(r -> {
                    double[] v = new double[r.size() - 1];
                    for (int i = 0; i < v.length; i++) v[i] = r.isNullAt(i + 1) ? Double.NaN : r.getDouble(i + 1);
                    return new Tuple2<>(r.getString(0), v);
                }), range[0], range[1]);

        // Cached as the first pass over it computes it (the split's counting); the signals stay cached till then. Only
        // the frequent-line removal is done again for the documents that reached it.
        Column[] clauseColumns = new Column[n];
        for (int i = 0; i < n; i++) clauseColumns[i] = functions.col(CLAUSE + i);
        JavaRDD<Judged> judged = ordered.zip(df.select(clauseColumns).javaRDD())
                .filter(t -> t._1().removedBy() == null)
                .mapPartitions(it -> {
                    Tokenizer counter = StageTokens.counter(countingModel == null ? null : countingModel.value());
                    return new PullIterator<Judged>() {
                        @Override
                        protected Judged pull() {
                            if (!it.hasNext()) {
                                end();
                                return null;
                            }
                            Tuple2<Doc, Row> t = it.next();
                            return judged(t._1(), frequent.value(), t._2(), n, counter);
                        }
                    };
                }, true)
                .persist(StorageLevel.MEMORY_AND_DISK_SER());
        String[] names = tableSchema(scoreColumns).fieldNames();
        Dataset<Row> table = df.select(names[0], java.util.Arrays.copyOfRange(names, 1, names.length));
        return new Outcome(table, judged, aggregate.failingBySource(), tertiles, bins, sorted, signals);
    }

    private static Annotated annotate(Doc d, long[] frequent, int scorers) {
        LineFilter.Result r = LineFilter.apply(d.text(), frequent);
        Doc t = d.withText(r.text());
        if (t.removedBy() == null && r.text().isEmpty()) t = t.removedBy(LINE_FILTER_STEP);
        double[] scores = new double[scorers];
        java.util.Arrays.fill(scores, Double.NaN);
        return new Annotated(t, HeuristicSignals.compute(r.text()), scores);
    }

    private static Row row(Annotated a) {
        List<Object> v = new ArrayList<>();
        Doc d = a.doc();
        v.add(d.key());
        v.add(d.source());
        v.add(d.location());
        for (int i = 0; i < a.signals().length; i++) {
            double x = a.signals()[i];
            v.add(switch (HeuristicSignals.SIGNALS.get(i).type()) {
                case LONG -> (long) x;
                case DOUBLE -> x;
                case BOOLEAN -> x != 0;
            });
        }
        v.add(d.exactGroup());
        v.add(d.nearGroup());
        for (double s : a.scores()) v.add(Double.isNaN(s) && d.removedBy() != null ? null : s);
        v.add(d.removedBy());
        return RowFactory.create(v.toArray());
    }

    /**
     * A document no step before the line filter removed, its frequent lines removed, with its clauses' outcomes;
     * {@code counter} (null: none) counts the tokens its text would lose.
     */
    private static Judged judged(Doc d, long[] frequent, Row clauseRow, int n, Tokenizer counter) {
        LineFilter.Result r = LineFilter.apply(d.text(), frequent);
        d = StageTokens.beforeChange(d, r.text(), counter);
        boolean emptied = r.text().isEmpty();
        boolean[] clauses = new boolean[n];
        for (int i = 0; i < n; i++) clauses[i] = clauseRow.getBoolean(i);
        QualityFilter.Verdict verdict = emptied ? QualityFilter.Verdict.TOO_SHORT : verdict(clauses);
        // Its groups are not carried on; an unchanged text keeps the UTF-8 bytes it holds, so it is not encoded again.
        return new Judged(d.withText(r.text()).groups(null, null), verdict, emptied, r.lines(), r.removed());
    }

    /**
     * Runs the scorers over one partition in batches of the documents still kept; each scorer's model is opened
     * once, on the first batch, and closed when the task ends (also when it fails).
     */
    private static Iterator<Annotated> score(Iterator<Annotated> in, List<DocumentScorer> scorers, byte[] hconf) {
        List<DocumentScorer.Scoring> open = new ArrayList<>();
        ArrayDeque<Annotated> ready = new ArrayDeque<>();
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                if (ready.isEmpty() && in.hasNext()) batch();
                return !ready.isEmpty();
            }

            @Override
            public Annotated next() {
                if (!hasNext()) throw new java.util.NoSuchElementException();
                return ready.poll();
            }

            private void batch() {
                List<Annotated> batch = new ArrayList<>(BATCH);
                List<Annotated> scored = new ArrayList<>(BATCH);
                while (batch.size() < BATCH && in.hasNext()) {
                    Annotated a = in.next();
                    batch.add(a);
                    if (a.doc().removedBy() == null) scored.add(a);
                }
                if (!scored.isEmpty()) {
                    try {
                        if (open.isEmpty()) openAll();
                        List<String> texts = scored.stream().map(a -> a.doc().text()).toList();
                        for (int s = 0; s < scorers.size(); s++) {
                            double[] scores = open.get(s).score(texts);
                            if (scores.length != texts.size()) {
                                throw new IOException("scorer for " + scorers.get(s).column() + " returned "
                                        + scores.length + " scores for " + texts.size() + " documents");
                            }
                            for (int i = 0; i < scores.length; i++) scored.get(i).scores()[s] = scores[i];
                        }
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                }
                ready.addAll(batch);
            }

            private void openAll() throws IOException {
                var conf = HadoopConf.fromBytes(hconf);
                for (DocumentScorer s : scorers) open.add(s.open(conf));
                TaskContext task = TaskContext.get();
                if (task != null) task.addTaskCompletionListener((org.apache.spark.util.TaskCompletionListener) ctx -> closeAll());
            }

            private void closeAll() {
                for (DocumentScorer.Scoring s : open) {
                    try {
                        s.close();
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                }
                open.clear();
            }
        };
    }

    /**
     * CCNet's buckets: the exact corpus-wide tertiles of the perplexities, by a distributed sort (only the two
     * values at ranks ⌊n/3⌋ and ⌊2n/3⌋ reach the driver); null when no document was scored. Below the first is
     * head, below the second middle, the rest tail.
     */
    static double[] tertiles(JavaRDD<Double> values, int partitions) {
        long n = values.count();
        if (n == 0) return null;
        long first = n / 3;
        long second = 2 * n / 3;
        Map<Long, Double> at = new LinkedHashMap<>(values.sortBy(x -> x, true, partitions).zipWithIndex()
                .filter(t -> t._2() == first || t._2() == second)
                .mapToPair(t -> new Tuple2<>(t._2(), t._1()))
                .collectAsMap());
        return new double[] {at.get(first), at.get(second)};
    }
}
