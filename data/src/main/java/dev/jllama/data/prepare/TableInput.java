package dev.jllama.data.prepare;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.StringType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * Parquet and ORC files through Spark's DataFrame reader, which splits them by row group or stripe. Every file's
 * schema is checked on the driver first (only its footer is read), so a missing or non-string column, or a file
 * that is not Parquet/ORC at all (a truncated one has no footer), fails before any task runs, naming the file.
 * Rows whose text is null are skipped.
 */
final class TableInput {
    private TableInput() {}

    static JavaRDD<Document> read(JavaSparkContext sc, List<DocumentInput.InputFile> files, InputFormat format,
                                  DocumentInput.Columns columns) throws IOException {
        SparkSession spark = SparkSession.builder().sparkContext(sc.sc()).getOrCreate();
        String kind = format.name().toLowerCase(Locale.ROOT);
        for (DocumentInput.InputFile f : files) check(spark, f, kind, columns);
        Map<String, List<String>> bySource = new LinkedHashMap<>();
        for (DocumentInput.InputFile f : files) bySource.computeIfAbsent(f.source(), s -> new ArrayList<>()).add(f.path());
        JavaRDD<Document> all = null;
        for (Map.Entry<String, List<String>> e : bySource.entrySet()) {
            Dataset<Row> df = spark.read().format(kind).load(e.getValue().toArray(String[]::new));
            Column source = columns.source() != null && Arrays.asList(df.columns()).contains(columns.source())
                    ? functions.coalesce(functions.col(columns.source()).cast("string"), functions.lit(e.getKey()))
                    : functions.lit(e.getKey());
            JavaRDD<Document> docs = df.select(functions.col(columns.text()), source, functions.col("_metadata.file_path"))
                    .where(functions.col(columns.text()).isNotNull())
                    .toJavaRDD()
                    .map(r -> new Document(r.getString(1), r.getString(2), r.getString(0)));
            all = all == null ? docs : all.union(docs);
        }
        return all;
    }

    private static void check(SparkSession spark, DocumentInput.InputFile f, String kind, DocumentInput.Columns columns)
            throws IOException {
        StructType schema;
        try {
            schema = spark.read().format(kind).load(f.path()).schema();
        } catch (Exception e) { // Spark's AnalysisException, SparkException (checked, thrown undeclared) and the readers' own
            throw new IOException("input " + f.path() + ": not a readable " + kind + " file (truncated or damaged?): "
                    + firstLine(e), e);
        }
        StructField text = Arrays.stream(schema.fields()).filter(c -> c.name().equals(columns.text())).findFirst().orElse(null);
        if (text == null) {
            throw new IOException("input " + f.path() + ": no column '" + columns.text() + "' (columns: "
                    + String.join(", ", schema.fieldNames()) + "); name the text column with --text-column");
        }
        if (!(text.dataType() instanceof StringType)) {
            throw new IOException("input " + f.path() + ": column '" + columns.text() + "' holds " + text.dataType().simpleString()
                    + ", not strings");
        }
    }

    private static String firstLine(Throwable e) {
        String m = String.valueOf(e.getMessage());
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }
}
