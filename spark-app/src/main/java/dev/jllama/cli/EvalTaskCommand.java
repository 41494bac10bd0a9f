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

/**
 * {@code llama eval-task}: builds a multiple-choice task from the held-back validation documents of a prepared
 * dataset, reproducibly from a seed. Each item takes one sentence of a validation document: the context is the
 * sentence before it in its document (when there is one) and the first half of its words; the choices are the true
 * second half and the second halves of three sentences of other validation documents, in random order. A model
 * that knows the language picks the ending that fits the opening.
 */
public final class EvalTaskCommand implements Command {
    private static final Pattern SENTENCE_END = Pattern.compile("(?<=[.!?])\\s+|\\n+");
    private static final int MIN_WORDS = 8;
    private static final int MAX_CHARS = 300;
    private static final int CHOICES = 4;

    @Override
    public String name() {
        return "eval-task";
    }

    @Override
    public String usage() {
        return """
                llama eval-task --data DIR --out FILE.jsonl [--count N] [--seed S] [--json]
                  --data DIR     a prepared dataset (any Hadoop URI); its validation split is decoded into documents
                                 (they end at the end-of-document token) and sentences
                  --out FILE     the task, one JSON object a line: {"context", "choices", "label", "document", "sentence"}
                  --count N      items (default 500; fewer if the split has fewer sentences of 8 words or more)
                  --seed S       which sentences and distractors (default 1234); the same seed gives the same file
                  --json         print a summary as one JSON object on the last line""";
    }

    /** A sentence of a validation document, split into the opening and the ending its item asks for. */
    private record Sentence(int document, int index, String previous, String opening, String ending) {}

    @Override
    public Map<String, Object> run(Args args, PrintStream out) throws Exception {
        String data = args.required("data");
        String outFile = args.required("out");
        int count = args.integer("count", 500);
        long seed = args.longValue("seed", 1234);
        args.json();
        args.checkAllUsed();
        if (count <= 0) throw new UsageException("--count must be positive, got " + count);

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
