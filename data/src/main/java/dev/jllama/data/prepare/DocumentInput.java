package dev.jllama.data.prepare;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.regex.Pattern;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;
import org.apache.hadoop.io.LongWritable;
import org.apache.hadoop.io.Text;
import org.apache.hadoop.mapreduce.Job;
import org.apache.hadoop.mapreduce.lib.input.FileInputFormat;
import org.apache.hadoop.mapreduce.lib.input.FileSplit;
import org.apache.spark.api.java.JavaNewHadoopRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;

/**
 * The reader step: expands the inputs into files, names each file's source, and reads documents from every format
 * ({@link InputFormat}). Text and uncompressed JSON lines go through Hadoop's TextInputFormat (split across tasks),
 * compressed JSON lines and WET files through one task per file, Parquet and ORC through Spark's DataFrame reader.
 * Every path is a Hadoop path, so any Hadoop file system works.
 * <p>
 * An input is {@code PATH} or {@code NAME=PATH}; NAME is the source its documents count for, and without one the
 * source is the path's last component with its extensions removed ({@code /data/wiki} and {@code wiki.jsonl.zst}
 * are both {@code wiki}). A source column or field, when asked for and present, overrides it per document.
 */
final class DocumentInput {
    private DocumentInput() {}

    /** One input file after expanding directories and globs. */
    record InputFile(String path, long bytes, InputFormat format, String source) implements Serializable {}

    /** The field or column holding each document's text, and optionally the one naming its source. */
    record Columns(String text, String source) implements Serializable {}

    /** Documents inside one blank-line record may still be separated by lines holding only spaces or CRs. */
    private static final Pattern BLANK_LINE = Pattern.compile("\\n[ \\t\\r\\f\\u000B]*\\n");
    private static final Pattern SOURCE_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]*");

    /** An input argument split into its source name and path. */
    record Input(String source, String path) {
        static Input parse(String arg) {
            int eq = arg.indexOf('=');
            if (eq > 0 && SOURCE_NAME.matcher(arg.substring(0, eq)).matches()) {
                return new Input(arg.substring(0, eq), arg.substring(eq + 1));
            }
            return new Input(defaultSource(arg), arg);
        }

        private static String defaultSource(String path) {
            String p = path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
            String name = p.substring(p.lastIndexOf('/') + 1);
            name = name.substring(0, name.length() - InputFormat.compression(name).length());
            for (String ext : new String[] {".parquet", ".orc", ".jsonl", ".json", ".ndjson", ".wet", ".warc", ".txt"}) {
                if (name.endsWith(ext)) name = name.substring(0, name.length() - ext.length());
            }
            return name.isEmpty() ? "input" : name;
        }
    }

    /**
     * Expands directories (recursively, skipping names starting with '.' or '_') and globs; sorted by path. A
     * source name given to two different inputs, or a file reached from two sources, is an error.
     */
    static List<InputFile> expand(List<String> inputs, Configuration conf) throws IOException {
        Map<String, String> pathOfSource = new LinkedHashMap<>();
        Map<String, InputFile> byPath = new java.util.TreeMap<>();
        for (String arg : inputs) {
            Input input = Input.parse(arg);
            String earlier = pathOfSource.putIfAbsent(input.source(), input.path());
            if (earlier != null && !earlier.equals(input.path())) {
                throw new IOException("source '" + input.source() + "' is given for both " + earlier + " and " + input.path()
                        + "; name the inputs apart with NAME=PATH");
            }
            Path p = new Path(input.path());
            FileSystem fs = p.getFileSystem(conf);
            FileStatus[] matches = fs.globStatus(p);
            if (matches == null || matches.length == 0) throw new IOException("input " + input.path() + " does not exist");
            List<FileStatus> found = new ArrayList<>();
            for (FileStatus m : matches) {
                if (m.isDirectory()) {
                    RemoteIterator<LocatedFileStatus> it = fs.listFiles(m.getPath(), true);
                    while (it.hasNext()) {
                        LocatedFileStatus f = it.next();
                        if (!hidden(m.getPath(), f.getPath())) found.add(f);
                    }
                } else if (m.getPath().getName().startsWith(".") || m.getPath().getName().startsWith("_")) {
                    throw new IOException("input " + m.getPath() + ": Hadoop input formats skip files whose names start"
                            + " with '.' or '_'; rename it");
                } else {
                    found.add(m);
                }
            }
            for (FileStatus f : found) {
                String path = f.getPath().toString();
                InputFile file = new InputFile(path, f.getLen(), InputFormat.of(path), input.source());
                InputFile other = byPath.putIfAbsent(path, file);
                if (other != null && !other.source().equals(file.source())) {
                    throw new IOException("input " + path + " belongs to both source '" + other.source() + "' and source '"
                            + file.source() + "'");
                }
            }
        }
        if (byPath.isEmpty()) throw new IOException("inputs " + inputs + " contain no files");
        return List.copyOf(byPath.values());
    }

    private static boolean hidden(Path root, Path file) {
        for (Path p = file; p != null && !p.equals(root); p = p.getParent()) {
            if (p.getName().startsWith(".") || p.getName().startsWith("_")) return true;
        }
        return false;
    }

    /** The raw documents of all files, in no particular order. */
    static JavaRDD<Document> read(JavaSparkContext sc, List<InputFile> files, Columns columns, int partitions,
                                  Broadcast<byte[]> hadoopConf) throws IOException {
        long total = files.stream().mapToLong(InputFile::bytes).sum();
        Map<String, String> sourceOfPath = new java.util.HashMap<>();
        for (InputFile f : files) sourceOfPath.put(f.path(), f.source());
        Broadcast<Map<String, String>> sources = sc.broadcast(sourceOfPath);
        List<JavaRDD<Document>> parts = new ArrayList<>();
        List<String> text = paths(files, InputFormat.TEXT);
        if (!text.isEmpty()) {
            parts.add(records(sc, text, "\n\n", total, partitions)
                    .mapPartitionsWithInputSplit((split, it) -> textDocs(split, it, sources.value()), true));
        }
        List<String> json = paths(files, InputFormat.JSON_LINES);
        if (!json.isEmpty()) {
            parts.add(records(sc, json, null, total, partitions)
                    .mapPartitionsWithInputSplit((split, it) -> jsonDocs(split, it, sources.value(), columns), true));
        }
        List<InputFile> perFile = files.stream()
                .filter(f -> f.format() == InputFormat.COMPRESSED_JSON_LINES || f.format() == InputFormat.WET).toList();
        if (!perFile.isEmpty()) {
            parts.add(sc.parallelize(perFile, perFile.size()).flatMap(f -> f.format() == InputFormat.WET
                    ? WetInput.read(f, HadoopConf.fromBytes(hadoopConf.value()))
                    : CompressedJsonLines.read(f, columns, HadoopConf.fromBytes(hadoopConf.value()))));
        }
        for (InputFormat tabular : List.of(InputFormat.PARQUET, InputFormat.ORC)) {
            List<InputFile> tf = files.stream().filter(f -> f.format() == tabular).toList();
            if (!tf.isEmpty()) parts.add(TableInput.read(sc, tf, tabular, columns));
        }
        JavaRDD<Document> docs = parts.getFirst();
        for (JavaRDD<Document> p : parts.subList(1, parts.size())) docs = docs.union(p);
        return docs;
    }

    private static List<String> paths(List<InputFile> files, InputFormat format) {
        return files.stream().filter(f -> f.format() == format).map(InputFile::path).toList();
    }

    private static JavaNewHadoopRDD<LongWritable, Text> records(JavaSparkContext sc, List<String> paths, String delimiter,
                                                               long totalBytes, int partitions) throws IOException {
        Job job = Job.getInstance(new Configuration(sc.hadoopConfiguration()));
        FileInputFormat.setInputPaths(job, paths.stream().map(Path::new).toArray(Path[]::new));
        Configuration c = job.getConfiguration();
        if (delimiter != null) c.set("textinputformat.record.delimiter", delimiter);
        if (partitions > 0) {
            // Smaller splits give at least `partitions` tasks; the record reader handles records across split ends.
            c.setLong(FileInputFormat.SPLIT_MAXSIZE, Math.max(64 * 1024, totalBytes / partitions + 1));
        }
        return (JavaNewHadoopRDD<LongWritable, Text>) sc.newAPIHadoopRDD(c, NamingTextInputFormat.class, LongWritable.class, Text.class);
    }

    private static String file(org.apache.hadoop.mapreduce.InputSplit split) {
        return split instanceof FileSplit fs ? fs.getPath().toString() : String.valueOf(split);
    }

    private static Iterator<Document> textDocs(org.apache.hadoop.mapreduce.InputSplit split,
                                               Iterator<scala.Tuple2<LongWritable, Text>> records, Map<String, String> sources) {
        String file = file(split);
        String source = sources.get(file);
        List<Document> out = new ArrayList<>();
        forEachRecord(records, (offset, record) -> {
            for (String doc : BLANK_LINE.split(record)) {
                if (!doc.isBlank()) out.add(new Document(source, file, doc));
            }
        });
        return out.iterator();
    }

    private static Iterator<Document> jsonDocs(org.apache.hadoop.mapreduce.InputSplit split,
                                               Iterator<scala.Tuple2<LongWritable, Text>> records,
                                               Map<String, String> sources, Columns columns) {
        String file = file(split);
        String source = sources.get(file);
        ObjectMapper json = new ObjectMapper();
        List<Document> out = new ArrayList<>();
        forEachRecord(records, (offset, line) -> {
            Document d = jsonDocument(json, line, file, offset, source, columns);
            if (d != null) out.add(d);
        });
        return out.iterator();
    }

    /** Every record of a split with its byte offset (Text objects are reused: each is copied to a string). */
    private static void forEachRecord(Iterator<scala.Tuple2<LongWritable, Text>> records, BiConsumer<Long, String> each) {
        while (records.hasNext()) {
            scala.Tuple2<LongWritable, Text> r = records.next();
            each.accept(r._1().get(), r._2().toString());
        }
    }

    /**
     * One JSON line as a document (null for a blank line); {@code offset} is the line's byte offset in the file (in a
     * bzip2 file, the compressed offset of its block).
     */
    static Document jsonDocument(ObjectMapper json, String line, String file, long offset, String source, Columns columns) {
        if (line.isBlank()) return null;
        JsonNode node;
        try {
            node = json.readTree(line);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new UncheckedIOException(new IOException("input " + file + ": the line at byte offset " + offset
                    + " is not valid JSON: " + e.getOriginalMessage()));
        }
        JsonNode text = node == null ? null : node.get(columns.text());
        if (text == null || !text.isTextual()) {
            throw new UncheckedIOException(new IOException("input " + file + ": the record at byte offset " + offset
                    + " has no string field '" + columns.text() + "'"));
        }
        JsonNode named = columns.source() == null ? null : node.get(columns.source());
        String s = named != null && named.isTextual() ? named.asText() : source;
        return new Document(s, file, text.asText());
    }
}
