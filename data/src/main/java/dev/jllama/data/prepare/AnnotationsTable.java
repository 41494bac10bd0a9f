package dev.jllama.data.prepare;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * The annotations directory: a Parquet table (one row per input document, sorted by id, source and url) that
 * Spark, pandas or DuckDB read as it is, plus two files Parquet readers skip: {@code _annotations.json} (what was
 * read and how: inputs, columns, exact dedup, each column's definition) and {@code _frequent_lines.bin} (the
 * frequent-line hashes, big-endian longs), so that a later run can rebuild the same texts without recomputing a
 * signal.
 */
final class AnnotationsTable {
    private AnnotationsTable() {}

    static final String META = "_annotations.json";
    static final String FREQUENT_LINES = "_frequent_lines.bin";
    static final String FORMAT = "jllama-annotations";
    static final int VERSION = 1;

    /** What the annotating run read and how; the rebuilding run reads the same way. */
    record Meta(List<String> inputs, String textColumn, String sourceColumn, boolean exactDedup) {}

    /** Writes {@code table}, whose rows come sorted by id, source and url, and the two side files. */
    static void write(Dataset<Row> table, FileSystem fs, Path dir, PrepareOptions o, long[] frequent,
                      List<String> scoreColumns) throws IOException {
        table.write().parquet(dir.toString());
        Map<String, Object> meta = new LinkedHashMap<>();
        meta.put("format", FORMAT);
        meta.put("version", VERSION);
        meta.put("inputs", o.inputs());
        meta.put("text_column", o.textColumn());
        meta.put("source_column", o.sourceColumn());
        meta.put("exact_dedup", o.exactDedup());
        meta.put("line_dup_threshold", o.lineDupThreshold());
        Map<String, String> columns = new LinkedHashMap<>();
        for (HeuristicSignals.Signal s : HeuristicSignals.SIGNALS) columns.put(s.name(), s.definition());
        for (String c : scoreColumns) columns.put(c, "model-based signal (a DocumentScorer)");
        meta.put("signals", columns);
        try (OutputStream out = fs.create(new Path(dir, META), false)) {
            out.write(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsBytes(meta));
        }
        try (DataOutputStream out = new DataOutputStream(fs.create(new Path(dir, FREQUENT_LINES), false))) {
            out.writeInt(frequent.length);
            for (long h : frequent) out.writeLong(h);
        }
    }

    static Meta meta(FileSystem fs, Path dir) throws IOException {
        Path p = new Path(dir, META);
        if (!fs.exists(p)) throw new IOException("annotations " + dir + " have no " + META + " (not written by prepare --annotations?)");
        JsonNode m;
        try (InputStream in = fs.open(p)) {
            m = new ObjectMapper().readTree(in);
        }
        if (!FORMAT.equals(m.path("format").asText()) || m.path("version").asInt() != VERSION) {
            throw new IOException(p + " is not a " + FORMAT + " version " + VERSION + " file");
        }
        List<String> inputs = new ArrayList<>();
        m.path("inputs").forEach(n -> inputs.add(n.asText()));
        String source = m.path("source_column").isNull() ? null : m.path("source_column").asText();
        return new Meta(inputs, m.path("text_column").asText(), source, m.path("exact_dedup").asBoolean());
    }

    static long[] frequentLines(FileSystem fs, Path dir) throws IOException {
        try (DataInputStream in = new DataInputStream(fs.open(new Path(dir, FREQUENT_LINES)))) {
            long[] a = new long[in.readInt()];
            for (int i = 0; i < a.length; i++) a[i] = in.readLong();
            return a;
        }
    }

    static Dataset<Row> read(SparkSession spark, Path dir) {
        return spark.read().parquet(dir.toString());
    }
}
