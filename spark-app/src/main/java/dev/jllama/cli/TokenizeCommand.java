package dev.jllama.cli;

import dev.jllama.data.tokenizer.BpeTrainer;
import dev.jllama.data.tokenizer.BpeTrainerOptions;
import dev.jllama.data.tokenizer.Tokenizer;
import dev.jllama.driver.SparkSecurity;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code llama tokenize}: encodes text with a SentencePiece model, or trains a BPE model on Spark.
 * Paths are Hadoop URIs or local paths.
 */
@Command(name = "tokenize", sortOptions = false,
        description = "Encodes text with a SentencePiece model, or trains a BPE model on Spark (--train).",
        customSynopsis = {
            "llama tokenize [--tokenizer FILE.model] (--text T | --input FILE) [--json]",
            "       llama tokenize --train --input PATH... --vocab-size N --output FILE.model [--master URL] [--text T] [--json]"})
public final class TokenizeCommand extends LlamaCommand {

    @Option(names = "--tokenizer", paramLabel = "FILE", description = "SentencePiece BPE model (default: the bundled spm-bpe-4096)")
    String tokenizerFile;

    @Option(names = "--text", paramLabel = "T",
            description = "encode T; prints ids and pieces (under --json the result has \"ids\" and \"pieces\")")
    String text;

    @Option(names = "--input", paramLabel = "PATH", arity = "1..*",
            description = "encode the file's bytes (invalid UTF-8 counts as U+FFFD per bad sequence); with --train, the"
                    + " training text: files, directories or globs")
    List<String> inputs = new ArrayList<>();

    @Option(names = "--train", description = "train a BPE model with byte fallback (LLaMA settings) on the --input text"
            + " files: word counting on Spark, merges on the driver; writes --output")
    boolean train;

    @Option(names = "--vocab-size", paramLabel = "N",
            description = "vocabulary size of the trained model, 3 meta and 256 byte pieces included")
    @Range(min = 259)
    Integer vocabSize;

    @Option(names = "--output", paramLabel = "FILE.model", description = "where --train writes the model")
    String output;

    @Option(names = "--master", paramLabel = "URL", description = "Spark master for --train (default: spark-submit's, else local[*])")
    String master;

    @Override
    void validate() {
        if (train) {
            if (inputs.isEmpty()) throw new UsageException("--train needs --input PATH... (the training text)");
            if (vocabSize == null) throw new UsageException("--train needs --vocab-size N");
            if (output == null) throw new UsageException("--train needs --output FILE.model");
            if (tokenizerFile != null) throw new UsageException("--tokenizer and --train exclude each other");
        } else {
            for (String trainOnly : new String[] {"--vocab-size", "--output", "--master"}) {
                if (given(trainOnly)) throw new UsageException(trainOnly + " goes with --train");
            }
            if (inputs.size() > 1) throw new UsageException("--input takes one FILE to encode (several only with --train)");
            if ((text == null) == inputs.isEmpty()) throw new UsageException("give exactly one of --text T or --input FILE");
        }
    }

    @Override
    public Map<String, Object> run(PrintStream out) throws Exception {
        Map<String, Object> result = new LinkedHashMap<>();
        Configuration hadoop = new Configuration();
        Tokenizer tokenizer;
        if (train) {
            long start = System.nanoTime();
            tokenizer = train(inputs, BpeTrainerOptions.llama(vocabSize), master, out);
            write(hadoop, output, tokenizer.toModelBytes());
            double seconds = (System.nanoTime() - start) / 1e9;
            out.printf("trained %d pieces in %.1f s, wrote %s%n", tokenizer.vocabSize(), seconds, output);
            result.put("output", output);
            result.put("vocab_size", tokenizer.vocabSize());
            result.put("seconds", seconds);
            if (text == null) return result;
        } else {
            tokenizer = tokenizerFile == null ? Tokenizer.bundled()
                    : Tokenizer.fromBytes(read(hadoop, tokenizerFile), tokenizerFile);
            if (!inputs.isEmpty()) {
                byte[] bytes = read(hadoop, inputs.get(0));
                return encoded(tokenizer, tokenizer.encodeUtf8(bytes, 0, bytes.length), result, out);
            }
        }
        return encoded(tokenizer, tokenizer.encode(text), result, out);
    }

    private static Map<String, Object> encoded(Tokenizer tokenizer, int[] ids, Map<String, Object> result, PrintStream out) {
        List<Integer> idList = new ArrayList<>(ids.length);
        List<String> pieces = new ArrayList<>(ids.length);
        StringBuilder idLine = new StringBuilder();
        for (int id : ids) {
            idList.add(id);
            pieces.add(tokenizer.piece(id));
            if (!idLine.isEmpty()) idLine.append(' ');
            idLine.append(id);
        }
        out.println("ids: " + idLine);
        out.println("pieces: " + String.join(" ", pieces));
        out.println("tokens: " + ids.length);
        result.put("ids", idList);
        result.put("pieces", pieces);
        result.put("tokens", ids.length);
        return result;
    }

    private static Tokenizer train(List<String> inputs, BpeTrainerOptions options, String master, PrintStream out) {
        SparkConf conf = new SparkConf().setAppName("jllama-tokenize-train");
        if (master != null) conf.setMaster(master);
        else if (!conf.contains("spark.master")) conf.setMaster("local[*]").set("spark.ui.enabled", "false");
        try {
            SparkSecurity.secure(conf);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        JavaSparkContext sc = new JavaSparkContext(conf);
        try {
            JavaRDD<String> text = null;
            for (String input : inputs) {
                JavaRDD<String> lines = sc.textFile(input);
                text = text == null ? lines : text.union(lines);
            }
            out.printf("counting words of %s on %s%n", String.join(", ", inputs), sc.master());
            return BpeTrainer.train(text, options);
        } finally {
            sc.stop();
        }
    }

    static byte[] read(Configuration conf, String location) throws IOException {
        Path path = new Path(location);
        try (InputStream in = path.getFileSystem(conf).open(path)) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new IOException("cannot read " + location + ": " + e.getMessage(), e);
        }
    }

    private static void write(Configuration conf, String location, byte[] bytes) throws IOException {
        Path path = new Path(location);
        FileSystem fs = path.getFileSystem(conf);
        try (OutputStream o = fs.create(path, true)) {
            o.write(bytes);
        } catch (IOException e) {
            throw new IOException("cannot write " + location + ": " + e.getMessage(), e);
        }
    }
}
