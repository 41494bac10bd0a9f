package dev.jllama.data.prepare;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
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
import org.apache.hadoop.mapreduce.lib.input.TextInputFormat;
import org.apache.spark.api.java.JavaNewHadoopRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * Reads the input documents: plain text with documents separated by blank lines, or JSON lines with a "text"
 * field. Both go through Hadoop's TextInputFormat, so any Hadoop file system works, files are split across tasks,
 * and gzip inputs are read (unsplit).
 */
final class DocumentInput {
    private DocumentInput() {}

    /** One input file after expanding directories and globs. */
    record InputFile(String path, long bytes, boolean jsonLines) {}

    /** Documents inside one blank-line record may still be separated by lines holding only spaces or CRs. */
    private static final Pattern BLANK_LINE = Pattern.compile("\\n[ \\t\\r\\f\\u000B]*\\n");

    static boolean isJsonLines(String name) {
        String n = name.endsWith(".gz") ? name.substring(0, name.length() - 3) : name;
        return n.endsWith(".jsonl") || n.endsWith(".json") || n.endsWith(".ndjson");
    }

    /** Expands directories (recursively, skipping names starting with '.' or '_') and globs; sorted by path. */
    static List<InputFile> expand(List<String> inputs, Configuration conf) throws IOException {
        List<InputFile> files = new ArrayList<>();
        for (String input : inputs) {
            Path p = new Path(input);
            FileSystem fs = p.getFileSystem(conf);
            FileStatus[] matches = fs.globStatus(p);
            if (matches == null || matches.length == 0) throw new IOException("input " + input + " does not exist");
            for (FileStatus m : matches) {
                if (m.isDirectory()) {
                    RemoteIterator<LocatedFileStatus> it = fs.listFiles(m.getPath(), true);
                    while (it.hasNext()) {
                        LocatedFileStatus f = it.next();
                        if (!hidden(m.getPath(), f.getPath())) files.add(file(f));
                    }
                } else if (m.getPath().getName().startsWith(".") || m.getPath().getName().startsWith("_")) {
                    throw new IOException("input " + m.getPath() + ": Hadoop input formats skip files whose names start"
                            + " with '.' or '_'; rename it");
                } else {
                    files.add(file(m));
                }
            }
        }
        files.sort(java.util.Comparator.comparing(InputFile::path));
        List<InputFile> unique = new ArrayList<>();
        for (InputFile f : files) {
            if (unique.isEmpty() || !unique.getLast().path().equals(f.path())) unique.add(f);
        }
        if (unique.isEmpty()) throw new IOException("inputs " + inputs + " contain no files");
        return unique;
    }

    private static boolean hidden(Path root, Path file) {
        for (Path p = file; p != null && !p.equals(root); p = p.getParent()) {
            if (p.getName().startsWith(".") || p.getName().startsWith("_")) return true;
        }
        return false;
    }

    private static InputFile file(FileStatus f) {
        return new InputFile(f.getPath().toString(), f.getLen(), isJsonLines(f.getPath().getName()));
    }

    /** The raw documents of all files (text and JSON lines), in no particular order. */
    static JavaRDD<String> read(JavaSparkContext sc, List<InputFile> files, int partitions) throws IOException {
        long total = files.stream().mapToLong(InputFile::bytes).sum();
        List<String> text = files.stream().filter(f -> !f.jsonLines()).map(InputFile::path).toList();
        List<String> json = files.stream().filter(InputFile::jsonLines).map(InputFile::path).toList();
        JavaRDD<String> docs = null;
        if (!text.isEmpty()) docs = records(sc, text, "\n\n", total, partitions).mapPartitionsWithInputSplit(DocumentInput::textDocs, true);
        if (!json.isEmpty()) {
            JavaRDD<String> j = records(sc, json, null, total, partitions).mapPartitionsWithInputSplit(DocumentInput::jsonDocs, true);
            docs = docs == null ? j : docs.union(j);
        }
        return docs;
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
        return (JavaNewHadoopRDD<LongWritable, Text>) sc.newAPIHadoopRDD(c, TextInputFormat.class, LongWritable.class, Text.class);
    }

    private static Iterator<String> textDocs(org.apache.hadoop.mapreduce.InputSplit split,
                                             Iterator<scala.Tuple2<LongWritable, Text>> records) {
        List<String> out = new ArrayList<>();
        while (records.hasNext()) {
            String record = records.next()._2().toString(); // Text objects are reused: copy now
            for (String doc : BLANK_LINE.split(record)) {
                if (!doc.isBlank()) out.add(doc);
            }
        }
        return out.iterator();
    }

    private static Iterator<String> jsonDocs(org.apache.hadoop.mapreduce.InputSplit split,
                                             Iterator<scala.Tuple2<LongWritable, Text>> records) {
        String file = split instanceof FileSplit fs ? fs.getPath().toString() : String.valueOf(split);
        ObjectMapper json = new ObjectMapper();
        List<String> out = new ArrayList<>();
        while (records.hasNext()) {
            scala.Tuple2<LongWritable, Text> r = records.next();
            String line = r._2().toString();
            if (line.isBlank()) continue;
            JsonNode node;
            try {
                node = json.readTree(line);
            } catch (IOException e) {
                throw new UncheckedIOException(new IOException("input " + file + ": the line at byte offset " + r._1().get()
                        + " is not valid JSON: " + e.getMessage(), e));
            }
            JsonNode text = node == null ? null : node.get("text");
            if (text == null || !text.isTextual()) {
                throw new UncheckedIOException(new IOException("input " + file + ": the record at byte offset " + r._1().get()
                        + " has no string field 'text'"));
            }
            out.add(text.asText());
        }
        return out.iterator();
    }
}
