package dev.jllama.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jllama.data.mixture.TrainingData;
import dev.jllama.model.eval.MultipleChoice;
import dev.jllama.model.eval.Perplexity;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import org.apache.hadoop.fs.Path;

/**
 * {@code llama eval}: perplexity and bits per byte on a dataset's validation split, and zero-shot multiple-choice
 * accuracy on a JSONL task.
 */
@Command(name = "eval", description = "Perplexity and bits per byte on a dataset's validation split, and zero-shot"
        + " multiple-choice accuracy on a JSONL task.")
public final class EvalCommand extends LlamaCommand {

    @Option(names = "--checkpoint", required = true, paramLabel = "DIR",
            description = "a checkpoint, or a run directory (its newest complete checkpoint); any Hadoop URI")
    String checkpoint;

    @Option(names = "--data", paramLabel = "DIR", description = "a prepared dataset made with the checkpoint's tokenizer:"
            + " perplexity and bits per byte over its validation split, in windows of --seq-len + 1 tokens taken in"
            + " stored order (no seed: the same windows for every model)")
    String data;

    @Option(names = "--tasks", paramLabel = "FILE", description = "JSONL, one item per line: {\"context\": TEXT,"
            + " \"choices\": [TEXT, ...], \"label\": N}; each choice is scored by the log-likelihood of its tokens after"
            + " the context, per character (as the LLaMA paper) and unnormalised")
    String tasks;

    @Option(names = "--seq-len", paramLabel = "N", description = "evaluation window (default: the checkpoint's training seq_len)")
    @Range(min = 1)
    Integer seqLen;

    @Option(names = "--batch", defaultValue = "16", paramLabel = "N",
            description = "windows or choices per forward pass (default: ${DEFAULT-VALUE})")
    @Range(min = 1)
    int batch;

    @Option(names = "--max-windows", paramLabel = "N",
            description = "evaluate at most N windows, spread evenly over the split (default: all)")
    @Range(min = 1)
    Long maxWindows;

    @Mixin
    BackendOptions backend;

    @Override
    void validate() {
        backend.validate();
        if (data == null && tasks == null) throw new UsageException("give --data DIR, --tasks FILE.jsonl or both");
    }

    @Override
    public Map<String, Object> run(PrintStream out) throws Exception {
        String backendName = backend.backend;
        int device = backend.deviceIndex(), threads = backend.threadCount();
        Configuration conf = new Configuration();
        Map<String, Object> result = new LinkedHashMap<>();
        try (TrainedModel loaded = TrainedModel.load(checkpoint, backendName, device, threads, backend.precision(),
                conf)) {
            result.put("checkpoint", loaded.checkpoint);
            result.put("step", loaded.state.step());
            out.printf("checkpoint %s (step %d), backend %s%n", loaded.checkpoint, loaded.state.step(),
                    loaded.backend.name());
            if (data != null) {
                int seqLen = this.seqLen != null ? this.seqLen : trainingSeqLen(loaded);
                if (seqLen > loaded.state.config().maxSeqLen()) {
                    throw new UsageException("--seq-len " + seqLen + " exceeds the model's max_seq_len "
                            + loaded.state.config().maxSeqLen());
                }
                TrainingData dataset = TrainingData.open(data, conf);
                if (!Arrays.equals(dataset.tokenizerBytes(), loaded.tokenizerBytes)) {
                    throw new IllegalArgumentException("dataset " + dataset.describe() + " was made with another "
                            + "tokenizer than checkpoint " + loaded.checkpoint + "; its token ids mean other things");
                }
                List<int[]> windows = dataset.evalWindows("val", seqLen, maxWindows == null ? 0 : maxWindows);
                if (windows.isEmpty()) {
                    throw new IllegalArgumentException("the validation split of " + dataset.describe()
                            + " has no window of " + (seqLen + 1) + " tokens");
                }
                Perplexity.Result p = Perplexity.evaluate(loaded.model, windows, batch,
                        loaded.tokenizer.textBytesPerToken());
                out.printf("%-26s %s%n", "validation data", dataset.describe());
                out.printf("%-26s %,d windows of %d tokens: %,d tokens, %,d bytes%n", "evaluated", p.windows(), seqLen,
                        p.tokens(), p.bytes());
                out.printf("%-26s %.4f%n", "loss (nats per token)", p.meanLoss());
                out.printf("%-26s %.2f%n", "perplexity", p.perplexity());
                out.printf("%-26s %.4f%n", "bits per byte", p.bitsPerByte());
                result.put("val_loss", p.meanLoss());
                result.put("val_ppl", p.perplexity());
                result.put("val_bpb", p.bitsPerByte());
                result.put("val_windows", p.windows());
                result.put("val_tokens", p.tokens());
                result.put("val_bytes", p.bytes());
                result.put("seq_len", seqLen);
            }
            if (tasks != null) {
                List<MultipleChoice.Item> items = readTasks(tasks, loaded, conf);
                MultipleChoice.Result r = MultipleChoice.evaluate(loaded.model, items, batch);
                out.printf("%-26s %s (%,d items)%n", "task", tasks, items.size());
                out.printf("%-26s %.4f ± %.4f (%d of %d)%n", "accuracy, per character", r.normalised().value(),
                        r.normalised().standardError(), r.normalised().correct(), items.size());
                out.printf("%-26s %.4f ± %.4f (%d of %d)%n", "accuracy, unnormalised", r.unnormalised().value(),
                        r.unnormalised().standardError(), r.unnormalised().correct(), items.size());
                out.printf("%-26s %.4f%n", "chance", chance(items));
                result.put("task", tasks);
                result.put("task_items", items.size());
                result.put("acc_norm", r.normalised().value());
                result.put("acc_norm_stderr", r.normalised().standardError());
                result.put("acc", r.unnormalised().value());
                result.put("acc_stderr", r.unnormalised().standardError());
                result.put("chance", chance(items));
            }
        }
        return result;
    }

    private static double chance(List<MultipleChoice.Item> items) {
        double sum = 0;
        for (MultipleChoice.Item item : items) sum += 1.0 / item.choices().size();
        return sum / items.size();
    }

    /** The seq_len the checkpoint was trained with, capped at the model's context. */
    private static int trainingSeqLen(TrainedModel loaded) {
        JsonNode options = loaded.state.options();
        int max = loaded.state.config().maxSeqLen();
        return options != null && options.has("seq_len") ? Math.min(max, options.get("seq_len").asInt()) : max;
    }

    /**
     * Reads a JSONL task, tokenising each context as a document start and each choice as the text that follows it;
     * every error names the file and line.
     */
    static List<MultipleChoice.Item> readTasks(String file, TrainedModel loaded, Configuration conf) throws IOException {
        Path path = new Path(file);
        ObjectMapper mapper = new ObjectMapper();
        List<MultipleChoice.Item> items = new ArrayList<>();
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(path.getFileSystem(conf).open(path),
                StandardCharsets.UTF_8))) {
            String line;
            int number = 0;
            while ((line = reader.readLine()) != null) {
                number++;
                if (line.isBlank()) continue;
                String where = file + ":" + number;
                JsonNode node;
                try {
                    node = mapper.readTree(line);
                } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                    throw new IllegalArgumentException(where + ": not a JSON object: "
                            + e.getOriginalMessage().replace('\n', ' '));
                }
                if (node == null || !node.isObject()) throw new IllegalArgumentException(where + ": not a JSON object");
                JsonNode context = node.get("context"), choices = node.get("choices"), label = node.get("label");
                if (context == null || !context.isTextual()) {
                    throw new IllegalArgumentException(where + ": \"context\" must be a string");
                }
                if (choices == null || !choices.isArray() || choices.size() < 2) {
                    throw new IllegalArgumentException(where + ": \"choices\" must be an array of at least 2 strings");
                }
                if (label == null || !label.isIntegralNumber()) {
                    throw new IllegalArgumentException(where + ": \"label\" must be an integer");
                }
                if (label.asInt() < 0 || label.asInt() >= choices.size()) {
                    throw new IllegalArgumentException(where + ": \"label\" " + label.asInt() + " is out of range [0, "
                            + choices.size() + ") of its " + choices.size() + " choices");
                }
                List<int[]> choiceIds = new ArrayList<>();
                int[] chars = new int[choices.size()];
                for (int c = 0; c < choices.size(); c++) {
                    JsonNode choice = choices.get(c);
                    if (!choice.isTextual() || choice.asText().isBlank()) {
                        throw new IllegalArgumentException(where + ": choice " + c + " must be a non-empty string");
                    }
                    choiceIds.add(loaded.tokenizer.encode(choice.asText()));
                    chars[c] = choice.asText().codePointCount(0, choice.asText().length());
                }
                try {
                    items.add(new MultipleChoice.Item(loaded.encodeDocument(context.asText()), choiceIds, chars,
                            label.asInt()));
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException(where + ": " + e.getMessage());
                }
            }
        }
        if (items.isEmpty()) throw new IllegalArgumentException(file + ": no items");
        return items;
    }
}
