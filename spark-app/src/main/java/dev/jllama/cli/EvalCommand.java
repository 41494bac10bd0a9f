package dev.jllama.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jllama.data.mixture.TrainingData;
import dev.jllama.model.eval.FewShotTask;
import dev.jllama.model.eval.MultipleChoice;
import dev.jllama.model.eval.Perplexity;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
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
 * {@code llama eval}: perplexity and bits per byte on a dataset's validation split, and zero- or few-shot
 * multiple-choice accuracy on task files.
 */
@Command(name = "eval", description = "Perplexity and bits per byte on a dataset's validation split, and zero- or"
        + " few-shot multiple-choice accuracy on task files.")
public final class EvalCommand extends LlamaCommand {

    @Option(names = "--checkpoint", required = true, paramLabel = "DIR",
            description = "a checkpoint, or a run directory (its newest complete checkpoint); any Hadoop URI")
    String checkpoint;

    @Option(names = "--data", paramLabel = "DIR", description = "a prepared dataset made with the checkpoint's tokenizer:"
            + " perplexity and bits per byte over its validation split, in windows of --seq-len + 1 tokens taken in"
            + " stored order (no seed: the same windows for every model)")
    String data;

    @Option(names = "--tasks", arity = "1..*", paramLabel = "FILE", description = "multiple-choice task files (JSONL;"
            + " the format is in the README, \"Few-shot evaluation\"): each choice scored by the log-likelihood of its"
            + " tokens after the context, summed (acc), per character (acc_norm) and, where the task asks, against an"
            + " unconditional context (acc_ratio)")
    List<String> tasks;

    @Option(names = "--shots", defaultValue = "0", paramLabel = "K",
            description = "exemplars before each item, from the task's \"fewshot\" items or else its other items"
                    + " (default: ${DEFAULT-VALUE})")
    @Range(min = 0)
    int shots;

    @Option(names = "--seed", defaultValue = "1234", paramLabel = "S",
            description = "draws the exemplars of tasks whose sampler is random (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--samples", paramLabel = "FILE.jsonl", description = "writes every scored item of every task, one"
            + " JSON object a line: {\"task\", \"line\", \"label\", \"lls\", \"unconditional_lls\", \"truncated\"}")
    String samples;

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
        if (data == null && tasks == null) throw new UsageException("give --data DIR, --tasks FILE.jsonl or both");
    }

    @Override
    public Map<String, Object> run(PrintStream out) throws Exception {
        Configuration conf = new Configuration();
        Map<String, Object> result = new LinkedHashMap<>();
        try (TrainedModel loaded = TrainedModel.load(checkpoint, backend, conf)) {
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
                TrainingData dataset = openData(data, conf);
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
                // Every file is read and tokenised before any is scored: a bad line shows at once.
                List<FewShotTask> read = new ArrayList<>();
                List<List<MultipleChoice.Item>> prompts = new ArrayList<>();
                for (String file : tasks) {
                    FewShotTask task = readTask(file, conf);
                    read.add(task);
                    prompts.add(task.requests(shots, seed, (context, continuation) ->
                            encodePair(loaded, context, continuation)));
                }
                List<Map<String, Object>> taskResults = new ArrayList<>();
                List<Map<String, Object>> scored = new ArrayList<>();
                for (int t = 0; t < tasks.size(); t++) {
                    taskResults.add(evaluateTask(tasks.get(t), read.get(t), prompts.get(t), loaded, out, scored));
                }
                if (samples != null) writeSamples(scored, conf);
                result.put("shots", shots);
                result.put("tasks", taskResults);
            }
        }
        return result;
    }

    private static FewShotTask readTask(String file, Configuration conf) throws IOException {
        Path path = new Path(file);
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(path.getFileSystem(conf).open(path),
                StandardCharsets.UTF_8))) {
            return FewShotTask.read(file, reader);
        }
    }

    /**
     * Scores one task's items, prints its lines, adds one sample per item to {@code scored} and returns its JSON
     * result.
     */
    private Map<String, Object> evaluateTask(String file, FewShotTask task, List<MultipleChoice.Item> items,
                                             TrainedModel loaded, PrintStream out, List<Map<String, Object>> scored) {
        MultipleChoice.Result r = MultipleChoice.evaluate(loaded.model, items, batch);
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("task", task.name());
        json.put("file", file);
        json.put("kind", task.kind().fileName());
        json.put("items", items.size());
        out.printf("%-26s %s (%s, %,d items, %d-shot)%n", "task " + task.name(), file, json.get("kind"), items.size(),
                shots);
        printAccuracy(out, json, "acc", "accuracy, summed", r.unnormalised());
        printAccuracy(out, json, "acc_norm", "accuracy, per character", r.normalised());
        if (r.ratio() != null) printAccuracy(out, json, "acc_ratio", "accuracy, ratio", r.ratio());
        double chance = chance(items);
        out.printf("%-26s %.4f%n", "chance", chance);
        json.put("chance", chance);
        if (r.truncatedItems() > 0) {
            out.printf("%-26s %,d items lost context tokens from the start to the model's window of %d%n", "truncated",
                    r.truncatedItems(), loaded.state.config().maxSeqLen());
        }
        json.put("truncated_items", r.truncatedItems());
        for (int i = 0; i < items.size(); i++) {
            Map<String, Object> sample = new LinkedHashMap<>();
            sample.put("task", task.name());
            sample.put("line", task.items().get(i).line());
            sample.put("label", items.get(i).label());
            sample.put("lls", r.logLikelihoods()[i]);
            if (r.unconditionalLogLikelihoods() != null) sample.put("unconditional_lls", r.unconditionalLogLikelihoods()[i]);
            sample.put("truncated", r.truncatedItemFlags()[i]);
            scored.add(sample);
        }
        return json;
    }

    private void writeSamples(List<Map<String, Object>> scored, Configuration conf) throws IOException {
        Path path = new Path(samples);
        ObjectMapper mapper = new ObjectMapper();
        try (var stream = path.getFileSystem(conf).create(path, true);
             var writer = new BufferedWriter(new OutputStreamWriter(stream, StandardCharsets.UTF_8))) {
            for (Map<String, Object> sample : scored) writer.write(mapper.writeValueAsString(sample) + "\n");
        }
    }

    private static void printAccuracy(PrintStream out, Map<String, Object> json, String key, String label,
                                      MultipleChoice.Accuracy accuracy) {
        out.printf("  %-24s %.4f ± %.4f (%d of %d)%n", label, accuracy.value(), accuracy.standardError(),
                accuracy.correct(), accuracy.items());
        json.put(key, accuracy.value());
        json.put(key + "_stderr", accuracy.standardError());
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
     * lm-evaluation-harness's {@code _encode_pair}: whitespace ending the context moves to the continuation, the
     * continuation's tokens are those of {@code context + continuation} past the context's own, and the context
     * follows the end-of-document token, as every document does in the prepared data (an empty context is that
     * token alone).
     */
    static MultipleChoice.Request encodePair(TrainedModel loaded, String context, String continuation) {
        if (context.isEmpty()) {
            return new MultipleChoice.Request(loaded.encodeDocument(""), loaded.tokenizer.encode(continuation));
        }
        int end = context.length();
        while (end > 0 && isPythonWhitespace(context.charAt(end - 1))) end--;
        continuation = context.substring(end) + continuation;
        context = context.substring(0, end);
        int[] whole = loaded.tokenizer.encode(context + continuation);
        int[] contextTokens = loaded.encodeDocument(context);
        return new MultipleChoice.Request(contextTokens, Arrays.copyOfRange(whole, Math.min(whole.length,
                contextTokens.length - 1), whole.length));
    }

    /** What Python's {@code str.rstrip()} strips. */
    private static boolean isPythonWhitespace(char c) {
        return Character.isWhitespace(c) || Character.isSpaceChar(c) || c == '\u0085';
    }
}
