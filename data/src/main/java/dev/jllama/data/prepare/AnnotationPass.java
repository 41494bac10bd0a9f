package dev.jllama.data.prepare;

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
    /** The step name for documents failing a clause of the filter expression. */
    static final String FILTER_STEP = "quality_filter";
    private static final int BATCH = 64;
    private static final String TEXT = "_text", DRAW = "_draw", LINES = "_lines", LINES_REMOVED = "_lines_removed",
            REACHED = "_reached_filter", CLAUSE = "_clause_";

    /** A document with its signals and scores (NaN where not scored), before the filter. */
    record Annotated(Doc doc, double[] signals, double[] scores, int lines, int linesRemoved) implements Serializable {}

    /**
     * The outcome: the table to write (no text; persisted), the documents for the split (those that reached the
     * line filter), per source the documents annotated, those that reached the filter and those of them failing
     * each clause ({@link #clauseCounts}), and the perplexity tertiles (null: no perplexity scorer).
     */
    record Outcome(Dataset<Row> table, JavaRDD<Judged> judged, Map<String, long[]> failingBySource, double[] tertiles) {
        long annotated() {
            return failingBySource.values().stream().mapToLong(c -> c[0]).sum();
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
        List<Column> counted = new ArrayList<>();
        counted.add(functions.sum(functions.when(functions.col(REACHED), 1).otherwise(0)));
        for (int i = 0; i < n; i++) {
            counted.add(functions.sum(functions.when(functions.col(REACHED).and(functions.not(functions.col(CLAUSE + i))), 1)
                    .otherwise(0)));
        }
        Map<String, long[]> out = new TreeMap<>();
        for (Row r : df.groupBy("source").agg(functions.count(functions.lit(1)), counted.toArray(Column[]::new))
                .collectAsList()) {
            long[] c = new long[n + 2];
            for (int i = 0; i < n + 2; i++) c[i] = r.isNullAt(i + 1) ? 0 : ((Number) r.get(i + 1)).longValue();
            out.put(r.getString(0), c);
        }
        return out;
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

    static Outcome run(SparkSession spark, JavaRDD<Doc> docs, Broadcast<long[]> frequent, List<DocumentScorer> scorers,
                       FilterExpression filter, Broadcast<byte[]> hconf, int partitions) {
        List<String> scoreColumns = scorers.stream().map(DocumentScorer::column).toList();
        JavaRDD<Annotated> annotated = docs.map(d -> annotate(d, frequent.value(), scorers.size()));
        if (!scorers.isEmpty()) annotated = annotated.mapPartitions(it -> score(it, scorers, hconf.value()));
        JavaRDD<Row> rows = annotated.map(AnnotationPass::row).persist(StorageLevel.MEMORY_AND_DISK_SER());

        List<StructField> fields = new ArrayList<>(baseFields(scoreColumns));
        fields.add(DataTypes.createStructField(REMOVED_BY, DataTypes.StringType, true));
        fields.add(DataTypes.createStructField(TEXT, DataTypes.StringType, false));
        fields.add(DataTypes.createStructField(DRAW, DataTypes.DoubleType, false));
        fields.add(DataTypes.createStructField(LINES, DataTypes.IntegerType, false));
        fields.add(DataTypes.createStructField(LINES_REMOVED, DataTypes.IntegerType, false));
        Dataset<Row> df = spark.createDataFrame(rows, DataTypes.createStructType(fields));
        Column reached = functions.col(REMOVED_BY).isNull();
        df = df.withColumn(REACHED, reached);

        double[] tertiles = null;
        if (scoreColumns.contains(PERPLEXITY)) {
            tertiles = tertiles(df.filter(reached).select(PERPLEXITY).na().drop().javaRDD().map(r -> r.getDouble(0)), partitions);
            Column p = functions.col(PERPLEXITY);
            df = df.withColumn(BUCKET, tertiles == null ? functions.lit(null).cast("string")
                    : functions.when(p.isNull(), functions.lit(null).cast("string"))
                            .when(p.lt(tertiles[0]), "head").when(p.lt(tertiles[1]), "middle").otherwise("tail"));
        }
        int n = filter.clauses().size();
        Column passes = functions.lit(true);
        for (int i = 0; i < n; i++) {
            df = df.withColumn(CLAUSE + i, filter.column(i));
            passes = passes.and(functions.col(CLAUSE + i));
        }
        df = df.withColumn(REMOVED_BY, functions.when(reached.and(functions.not(passes)), functions.lit(FILTER_STEP))
                .otherwise(functions.col(REMOVED_BY)));
        df = df.persist(StorageLevel.MEMORY_AND_DISK_SER());

        Map<String, long[]> failing = clauseCounts(df, n);
        rows.unpersist(false);

        List<Column> judgedColumns = new ArrayList<>(List.of(functions.col("id"), functions.col(DRAW),
                functions.col("source"), functions.col("url"), functions.col(TEXT), functions.col(REMOVED_BY),
                functions.col(LINES), functions.col(LINES_REMOVED)));
        for (int i = 0; i < n; i++) judgedColumns.add(functions.col(CLAUSE + i));
        JavaRDD<Judged> judged = df.filter(functions.col(REACHED).or(functions.col(REMOVED_BY).equalTo("line_filter")))
                .select(judgedColumns.toArray(Column[]::new))
                .javaRDD()
                .map(r -> judged(r, n))
                .persist(StorageLevel.MEMORY_AND_DISK_SER());
        String[] names = tableSchema(scoreColumns).fieldNames();
        Dataset<Row> table = df.select(names[0], java.util.Arrays.copyOfRange(names, 1, names.length));
        return new Outcome(table, judged, failing, tertiles);
    }

    private static Annotated annotate(Doc d, long[] frequent, int scorers) {
        LineFilter.Result r = LineFilter.apply(d.text(), frequent);
        Doc t = d.withText(r.text());
        if (t.removedBy() == null && r.text().isEmpty()) t = t.removedBy("line_filter");
        double[] scores = new double[scorers];
        java.util.Arrays.fill(scores, Double.NaN);
        return new Annotated(t, HeuristicSignals.compute(r.text()), scores, r.lines(), r.removed());
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
        v.add(d.text());
        v.add(d.draw());
        v.add(a.lines());
        v.add(a.linesRemoved());
        return RowFactory.create(v.toArray());
    }

    private static Judged judged(Row r, int n) {
        Doc d = new Doc(r.getString(0), r.getDouble(1), r.getString(2), r.getString(3), r.getString(4));
        boolean emptied = "line_filter".equals(r.getString(5));
        boolean[] clauses = new boolean[n];
        for (int i = 0; i < n; i++) clauses[i] = r.getBoolean(8 + i);
        QualityFilter.Verdict verdict = emptied ? QualityFilter.Verdict.TOO_SHORT : verdict(clauses);
        return new Judged(d, verdict, emptied, r.getInt(6), r.getInt(7));
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
