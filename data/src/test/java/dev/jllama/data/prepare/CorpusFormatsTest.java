package dev.jllama.data.prepare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.luben.zstd.ZstdOutputStream;
import dev.jllama.data.SparkTestSession;
import dev.jllama.data.shard.Dataset;
import dev.jllama.data.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;
import javax.imageio.ImageIO;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.io.compress.BZip2Codec;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.netpreserve.jwarc.MediaType;
import org.netpreserve.jwarc.WarcCompression;
import org.netpreserve.jwarc.WarcConversion;
import org.netpreserve.jwarc.WarcWriter;
import org.netpreserve.jwarc.Warcinfo;

/** Corpora in the forms they are published: Parquet, ORC, compressed JSON lines, Common Crawl WET; bad inputs. */
class CorpusFormatsTest {
    private static final SyntheticText TEXT = new SyntheticText(11, 5000);

    @TempDir
    Path tmp;

    private static SparkSession spark() {
        return SparkSession.builder().sparkContext(SparkTestSession.get().sc()).getOrCreate();
    }

    /** Writes rows with Spark into a one-file table and returns that file under the given name. */
    static Path table(Path dir, String name, String format, StructType schema, List<Row> rows) throws IOException {
        Path out = dir.resolve("spark-" + name);
        spark().createDataFrame(rows, schema).coalesce(1).write().format(format).save(out.toString());
        try (Stream<Path> s = Files.list(out)) {
            Path part = s.filter(p -> p.getFileName().toString().startsWith("part-")).findFirst().orElseThrow();
            Path file = dir.resolve(name);
            Files.move(part, file);
            return file;
        }
    }

    private static StructType textAndSource() {
        return new StructType().add("id", DataTypes.LongType).add("content", DataTypes.StringType).add("origin", DataTypes.StringType);
    }

    static String jsonLine(String text) {
        return "{\"text\": \"" + text + "\"}\n";
    }

    static void writeWet(Path file, List<String> urls, List<String> bodies) throws IOException {
        try (WarcWriter w = new WarcWriter(FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE),
                WarcCompression.GZIP)) {
            w.write(new Warcinfo.Builder().fields(Map.of("software", List.of("jllama test"))).build());
            for (int i = 0; i < urls.size(); i++) {
                w.write(new WarcConversion.Builder().setHeader("WARC-Target-URI", urls.get(i))
                        .body(MediaType.PLAIN_TEXT, bodies.get(i).getBytes(StandardCharsets.UTF_8)).build());
            }
        }
    }

    private static void compressed(Path file, String text) throws IOException {
        String name = file.getFileName().toString();
        try (OutputStream raw = Files.newOutputStream(file);
             OutputStream out = name.endsWith(".zst") ? new ZstdOutputStream(raw)
                     : name.endsWith(".gz") ? new GZIPOutputStream(raw)
                     : bzip2(raw)) {
            out.write(text.getBytes(StandardCharsets.UTF_8));
        }
    }

    private static OutputStream bzip2(OutputStream raw) throws IOException {
        BZip2Codec codec = new BZip2Codec();
        Configuration conf = new Configuration();
        conf.setInt("bzip2.compress.blocksize", 1); // blocks of 100 kB, so that a small file has several
        codec.setConf(conf);
        return codec.createOutputStream(raw);
    }

    @Test
    void bzip2JsonLinesAreSplitAcrossTasksAtTheirBlocksAndReadOnce() throws IOException {
        List<String> written = new ArrayList<>();
        StringBuilder lines = new StringBuilder();
        for (int i = 0; i < 3000; i++) {
            String doc = TEXT.document(60) + " " + i;
            written.add(doc);
            lines.append(jsonLine(doc));
        }
        Path file = tmp.resolve("many-blocks.jsonl.bz2");
        compressed(file, lines.toString());
        Configuration conf = SparkTestSession.get().hadoopConfiguration();
        List<DocumentInput.InputFile> files = DocumentInput.expand(List.of(file.toString()), conf);
        var docs = DocumentInput.read(SparkTestSession.get(), files, new DocumentInput.Columns("text", null), 8,
                SparkTestSession.get().broadcast(HadoopConf.toBytes(conf)));
        assertTrue(docs.getNumPartitions() >= 4, "split: " + docs.getNumPartitions() + " tasks for " + Files.size(file) + " bytes");
        List<String> read = new ArrayList<>(docs.map(Document::text).collect());
        read.sort(null);
        written.sort(null);
        assertEquals(written, read, "every line once, whichever split reads it");

        byte[] whole = Files.readAllBytes(file);
        Path cut = tmp.resolve("cut.jsonl.bz2");
        Files.write(cut, java.util.Arrays.copyOf(whole, whole.length * 2 / 3));
        String m = failure(List.of(cut.toString()), null);
        assertTrue(m.contains("cut.jsonl.bz2") && m.contains("damaged or truncated after byte offset"), m);
    }

    @Test
    void everyPublishedFormatIsReadWithItsSourceAndReported() throws IOException {
        Path in = tmp.resolve("in");
        Files.createDirectories(in.resolve("web"));
        List<String> expected = new ArrayList<>();
        // Parquet and ORC with a non-default text column and a source column (null falls back to the input's name).
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            String doc = TEXT.document(40);
            expected.add(doc);
            rows.add(RowFactory.create((long) i, doc, i % 3 == 2 ? null : "wikipedia"));
        }
        table(in, "a.parquet", "parquet", textAndSource(), rows.subList(0, 3));
        table(in, "b.orc", "orc", textAndSource(), rows.subList(3, 6));
        StringBuilder zst = new StringBuilder();
        StringBuilder bz2 = new StringBuilder();
        StringBuilder gz = new StringBuilder();
        for (int i = 0; i < 3; i++) {
            for (StringBuilder b : List.of(zst, bz2, gz)) {
                String doc = TEXT.document(30);
                expected.add(doc);
                b.append("{\"content\": \"").append(doc).append("\", \"origin\": ").append(b == gz ? "null" : "\"github\"").append("}\n");
            }
        }
        compressed(in.resolve("c.jsonl.zst"), zst.toString());
        compressed(in.resolve("d.jsonl.bz2"), bz2.toString());
        compressed(in.resolve("e.jsonl.gz"), gz.toString());
        List<String> bodies = List.of(TEXT.document(50), TEXT.document(50));
        expected.addAll(bodies);
        writeWet(in.resolve("web/CC-MAIN-1.warc.wet.gz"), List.of("https://a.example/x", "https://b.example/y"), bodies);
        // The same page in two sources: exact dedup keeps the copy of the source that sorts first ("cc" < "tables").
        String shared = bodies.getFirst();
        Files.writeString(in.resolve("shared.jsonl"), "{\"content\": \"" + shared + "\"}\n");

        Path out = tmp.resolve("ds");
        PrepareOptions o = PrepareOptions.withTokenizer(List.of("tables=" + in.resolve("a.parquet"), "tables=" + in.resolve("a.parquet"),
                        in.resolve("b.orc").toString(), "json=" + in + "/*.jsonl.*", "cc=" + in.resolve("web"),
                        "tables2=" + in.resolve("shared.jsonl")), out.toString(), Tokenizer.bundled())
                .quality(new QualityFilter(20, 0.25)).valFraction(0).columns("content", "origin");
        PrepareResult r = PrepareJob.run(SparkTestSession.get(), o, m -> {});
        Map<String, Object> s = r.stats();
        assertEquals(expected.size() + 1L, ((Number) s.get("input_documents")).longValue());
        assertEquals(1L, ((Number) s.get("exact_duplicates")).longValue());
        assertEquals(0L, ((Number) s.get("near_duplicates")).longValue());
        assertEquals(0L, ((Number) s.get("decontaminated")).longValue());
        @SuppressWarnings("unchecked")
        Map<String, Map<String, Object>> sources = (Map<String, Map<String, Object>>) s.get("sources");
        assertEquals(List.of("b", "cc", "github", "json", "tables", "tables2", "wikipedia"), List.copyOf(sources.keySet()));
        assertEquals(4L, sources.get("wikipedia").get("documents_in"));
        assertEquals(6L, sources.get("github").get("documents_in"), "zstd and bzip2 lines name their source");
        assertEquals(3L, sources.get("json").get("documents_in"), "null source field: the input's name");
        assertEquals(1L, sources.get("b").get("documents_in"), "ORC row with a null source: the file's name");
        assertEquals(1L, sources.get("tables").get("documents_in"));
        assertEquals(2L, sources.get("cc").get("documents_out"));
        assertEquals(0L, sources.get("tables2").get("documents_out"), "its copy of the page counts for cc");
        long tokens = sources.values().stream().mapToLong(m -> ((Number) m.get("tokens_out")).longValue()).sum();
        assertEquals(((Number) s.get("train_tokens")).longValue(), tokens);
        // Tokens are counted as documents are read (cleaned text, EOS included), so every stage reports them: the
        // removed copy counts for tables2 as read and is gone after exact dedup.
        Tokenizer tok = Tokenizer.bundled();
        assertEquals(tok.encode(TextCleaner.clean(shared)).length + 1L, sources.get("tables2").get("tokens_in"));
        assertEquals(0L, afterStage(sources.get("tables2"), "exact_dedup").get("tokens"));
        long ccTokens = bodies.stream().mapToLong(b -> tok.encode(TextCleaner.clean(b)).length + 1L).sum();
        assertEquals(ccTokens, sources.get("cc").get("tokens_in"));
        assertEquals(ccTokens, afterStage(sources.get("cc"), "quality_filter").get("tokens"));

        Dataset d = Dataset.open(out.toString(), new Configuration());
        assertEquals(expected.size(), d.manifest().split("train").documents());
        Tokenizer t = d.tokenizer();
        List<String> decoded = new ArrayList<>();
        decoded.addAll(PrepareJobTest.decodeDocuments(d, "train", t));
        assertEquals(expected.stream().sorted().toList(), decoded.stream().sorted().toList());
        assertNotNull(ImageIO.read(out.resolve(PrepareReport.PNG_FILE).toFile()), "report.png is a PNG");
        String report = Files.readString(out.resolve(PrepareReport.JSON_FILE));
        assertTrue(report.contains("\"exact_duplicates\" : 1") && report.contains("\"wikipedia\""), report);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> afterStage(Map<String, Object> source, String stage) {
        return (Map<String, Object>) ((Map<String, Object>) source.get("after_stage")).get(stage);
    }

    @Test
    void wetConversionRecordsBecomeDocumentsWithTheirUrl() throws IOException {
        Path wet = tmp.resolve("x.warc.wet.gz");
        writeWet(wet, List.of("https://example.com/one", "https://example.com/two"), List.of("first page", "second page"));
        DocumentInput.InputFile f = new DocumentInput.InputFile(wet.toString(), Files.size(wet), InputFormat.WET, "cc");
        List<Document> docs = new ArrayList<>();
        for (Iterator<Document> it = WetInput.read(f, new Configuration()); it.hasNext(); ) docs.add(it.next());
        assertEquals(List.of(new Document("cc", "https://example.com/one", "first page"),
                new Document("cc", "https://example.com/two", "second page")), docs);
    }

    private String failure(List<String> inputs, PrepareOptions o) {
        Path out = tmp.resolve("never");
        PrepareOptions opts = o != null ? o : PrepareOptions.withTokenizer(inputs, out.toString(), Tokenizer.bundled());
        IOException e = assertThrows(IOException.class, () -> PrepareJob.run(SparkTestSession.get(), opts, m -> {}));
        assertFalse(Files.exists(out), "nothing written under the output");
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
        return e.getMessage();
    }

    @Test
    void badInputsFailInOneLineNamingFileAndColumnOrOffset() throws IOException {
        List<Row> rows = List.of(RowFactory.create(1L, "some text long enough", "s"));
        Path noColumn = table(tmp, "nocolumn.parquet", "parquet", textAndSource(), rows);
        String m = failure(List.of(noColumn.toString()), null);
        assertTrue(m.contains("nocolumn.parquet") && m.contains("no column 'text'") && m.contains("content"), m);

        StructType numbers = new StructType().add("text", DataTypes.IntegerType);
        Path notString = table(tmp, "ints.orc", "orc", numbers, List.of(RowFactory.create(5)));
        m = failure(List.of(notString.toString()), null);
        assertTrue(m.contains("ints.orc") && m.contains("column 'text' holds int"), m);

        byte[] parquet = Files.readAllBytes(table(tmp, "whole.parquet", "parquet",
                new StructType().add("text", DataTypes.StringType), List.of(RowFactory.create("a document"))));
        Path truncated = tmp.resolve("truncated.parquet");
        Files.write(truncated, java.util.Arrays.copyOf(parquet, parquet.length / 2));
        m = failure(List.of(truncated.toString()), null);
        assertTrue(m.contains("truncated.parquet") && m.contains("not a readable parquet file"), m);

        StringBuilder lines = new StringBuilder();
        for (int i = 0; i < 2000; i++) lines.append(jsonLine(TEXT.document(20)));
        Path zst = tmp.resolve("cut.jsonl.zst");
        compressed(zst, lines.toString());
        byte[] z = Files.readAllBytes(zst);
        Files.write(zst, java.util.Arrays.copyOf(z, z.length - 100));
        m = failure(List.of(zst.toString()), null);
        assertTrue(m.contains("cut.jsonl.zst") && m.contains("compressed byte offset"), m);

        Path wet = tmp.resolve("empty.warc.wet.gz");
        writeWet(wet, List.of("https://example.com/full", "https://example.com/empty"), List.of("a page with words", ""));
        m = failure(List.of(wet.toString()), null);
        assertTrue(m.contains("empty.warc.wet.gz") && m.contains("byte offset") && m.contains("https://example.com/empty")
                && m.contains("has no body"), m);

        Path a = Files.writeString(tmp.resolve("a.jsonl"), jsonLine("x"));
        Path b = Files.writeString(tmp.resolve("b.jsonl"), jsonLine("y"));
        m = failure(List.of("wiki=" + a, "wiki=" + b), null);
        assertTrue(m.contains("source 'wiki'") && m.contains("a.jsonl") && m.contains("b.jsonl"), m);
    }
}
