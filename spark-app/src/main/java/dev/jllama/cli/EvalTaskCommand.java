package dev.jllama.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jllama.data.shard.Dataset;
import dev.jllama.data.shard.EvalWindows;
import dev.jllama.data.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.regex.Pattern;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code llama eval-task}: builds a multiple-choice task from the held-back validation documents of a prepared
 * dataset, reproducibly from a seed. Each item takes one sentence of a validation document: the context is the
 * sentence before it in its document (when there is one) and the first half of its words; the choices are the true
 * second half and the second halves of three sentences of other validation documents, in random order. A model
 * that knows the language picks the ending that fits the opening.
 */
@Command(name = "eval-task", description = "Builds a multiple-choice task from a dataset's validation documents,"
        + " reproducibly from a seed.")
public final class EvalTaskCommand extends LlamaCommand {
    private static final Pattern SENTENCE_END = Pattern.compile("(?<=[.!?])\\s+|\\n+");
    private static final int MIN_WORDS = 8;
    private static final int MAX_CHARS = 300;
    private static final int CHOICES = 4;

    @Option(names = "--data", required = true, paramLabel = "DIR", description = "a prepared dataset (any Hadoop URI);"
            + " its validation split is decoded into documents (they end at the end-of-document token) and sentences")
    String data;

    @Option(names = "--out", required = true, paramLabel = "FILE.jsonl", description = "the task, one JSON object a line:"
            + " {\"context\", \"choices\", \"label\", \"document\", \"sentence\"}")
    String outFile;

    @Option(names = "--count", defaultValue = "500", paramLabel = "N", description = "items (default: ${DEFAULT-VALUE};"
            + " fewer if the split has fewer sentences of 8 words or more)")
    @Range(min = 1)
    int count;

    @Option(names = "--seed", defaultValue = "1234", paramLabel = "S",
            description = "which sentences and distractors; the same seed gives the same file (default: ${DEFAULT-VALUE})")
    long seed;

    /** A sentence of a validation document, split into the opening and the ending its item asks for. */
    private record Sentence(int document, int index, String previous, String opening, String ending) {}

    @Override
    public Map<String, Object> run(PrintStream out) throws Exception {
        Configuration conf = new Configuration();
        Dataset dataset = Dataset.open(data, conf);
        Tokenizer tokenizer = dataset.tokenizer();
        List<String> documents = documents(EvalWindows.tokens(dataset, "val", Long.MAX_VALUE), dataset.eosId(), tokenizer);
        List<Sentence> sentences = new ArrayList<>();
        for (int d = 0; d < documents.size(); d++) {
            String[] parts = SENTENCE_END.split(documents.get(d).strip());
            for (int s = 0; s < parts.length; s++) {
                String[] words = parts[s].strip().split("\\s+");
                if (words.length < MIN_WORDS || parts[s].length() > MAX_CHARS) continue;
                int half = words.length / 2;
                sentences.add(new Sentence(d, s, s > 0 ? parts[s - 1].strip() : "",
                        String.join(" ", Arrays.copyOfRange(words, 0, half)),
                        String.join(" ", Arrays.copyOfRange(words, half, words.length))));
            }
        }
        if (sentences.size() < CHOICES) {
            throw new IllegalArgumentException("the validation split of " + dataset.dir() + " has " + sentences.size()
                    + " sentences of " + MIN_WORDS + " words or more; a task needs at least " + CHOICES);
        }
        boolean otherDocuments = documents.size() > 1;
        SplittableRandom random = new SplittableRandom(seed);
        int[] order = permutation(sentences.size(), random);
        int items = Math.min(count, sentences.size());
        ObjectMapper mapper = new ObjectMapper();
        Path path = new Path(outFile);
        FileSystem fs = path.getFileSystem(conf);
        try (OutputStream file = fs.create(path, true)) {
            for (int i = 0; i < items; i++) {
                Sentence item = sentences.get(order[i]);
                List<String> choices = new ArrayList<>();
                choices.add(item.ending());
                while (choices.size() < CHOICES) {
                    Sentence other = sentences.get(random.nextInt(sentences.size()));
                    boolean sameSource = otherDocuments ? other.document() == item.document() : other == item;
                    if (!sameSource && !choices.contains(other.ending())) choices.add(other.ending());
                }
                int label = random.nextInt(CHOICES);
                choices.set(0, choices.get(label));
                choices.set(label, item.ending());
                ObjectNode node = mapper.createObjectNode();
                node.put("context", item.previous().isEmpty() ? item.opening() : item.previous() + " " + item.opening());
                var array = node.putArray("choices");
                choices.forEach(array::add);
                node.put("label", label);
                node.put("document", item.document());
                node.put("sentence", item.index());
                file.write((mapper.writeValueAsString(node) + "\n").getBytes(StandardCharsets.UTF_8));
            }
        }
        out.printf("wrote %d items to %s from %d sentences of %d validation documents of %s (seed %d)%n", items,
                path, sentences.size(), documents.size(), dataset.dir(), seed);
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("out", path.toString());
        result.put("items", items);
        result.put("sentences", sentences.size());
        result.put("documents", documents.size());
        result.put("seed", seed);
        return result;
    }

    /** The split's documents: the text of each run of tokens that an end-of-document token ends. */
    static List<String> documents(int[] tokens, int eos, Tokenizer tokenizer) {
        List<String> documents = new ArrayList<>();
        int start = 0;
        for (int i = 0; i <= tokens.length; i++) {
            if (i == tokens.length || tokens[i] == eos) {
                if (i > start) documents.add(tokenizer.decode(Arrays.copyOfRange(tokens, start, i)));
                start = i + 1;
            }
        }
        return documents;
    }

    private static int[] permutation(int n, SplittableRandom random) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        for (int i = n - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }
}
