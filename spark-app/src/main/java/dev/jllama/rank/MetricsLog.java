package dev.jllama.rank;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.function.Consumer;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.ChecksumException;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileContext;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Options;
import org.apache.hadoop.fs.Path;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * {@code metrics.jsonl} in the run directory, on any Hadoop FileSystem, written by rank 0: one JSON object per step
 * ({@link StepMetrics}) and one per validation ({@code {"step", "tokens", "val_loss", "val_ppl", "val_bpb", "time"}}),
 * in step order.
 *
 * <p>New lines are appended where the FileSystem can append (HDFS); where it cannot (local files through Hadoop's
 * checksummed FileSystem, object stores) or an append fails, the whole file is rewritten next to it and renamed over
 * it, so a reader never sees a half-written file. A run that resumes from the checkpoint of step S keeps the lines of
 * steps up to S and drops the later ones, which the resumed run trains again.
 */
final class MetricsLog {
    private static final Logger LOG = LogManager.getLogger(MetricsLog.class);
    private static final ObjectMapper MAPPER = new ObjectMapper();
    static final String FILE = "metrics.jsonl";

    /**
     * A validation measured after {@code step}: mean loss (nats per token), its perplexity and bits per byte (null in
     * lines written before they were recorded).
     */
    record Validation(int step, long tokens, double valLoss, Double valPerplexity, Double valBitsPerByte, double time) {
        ObjectNode toJson() {
            ObjectNode node = JsonNodeFactory.instance.objectNode();
            node.put("step", step);
            node.put("tokens", tokens);
            node.put("val_loss", valLoss);
            node.put("val_ppl", valPerplexity);
            node.put("val_bpb", valBitsPerByte);
            node.put("time", time);
            return node;
        }

        static Validation fromJson(JsonNode node, String source) {
            return new Validation(StepMetrics.Fields.integer(node, "step", source),
                    StepMetrics.Fields.longValue(node, "tokens", source),
                    StepMetrics.Fields.number(node, "val_loss", source),
                    StepMetrics.Fields.optionalNumber(node, "val_ppl", source),
                    StepMetrics.Fields.optionalNumber(node, "val_bpb", source),
                    StepMetrics.Fields.number(node, "time", source));
        }
    }

    private final FileSystem fs;
    private final Configuration conf;
    private final Path path;
    private final List<StepMetrics> steps = new ArrayList<>();
    private final List<Validation> validations = new ArrayList<>();
    /** Lines recorded but not yet in the file. */
    private final List<String> pending = new ArrayList<>();
    private boolean rewriteNeeded;
    private boolean appendWorks = true;

    private MetricsLog(Path path, Configuration conf) throws IOException {
        this.fs = path.getFileSystem(conf);
        this.conf = conf;
        this.path = fs.makeQualified(path);
    }

    /**
     * Opens the metrics of the run in {@code runDir}: a fresh run starts an empty file; a run resuming from the
     * checkpoint of {@code resumedStep} keeps what the file says up to that step.
     */
    static MetricsLog open(String runDir, Configuration conf, boolean resuming, int resumedStep) throws IOException {
        MetricsLog log = new MetricsLog(new Path(runDir, FILE), conf);
        if (resuming) log.readUpTo(resumedStep);
        log.rewrite();
        return log;
    }

    private void readUpTo(int lastStep) throws IOException {
        int dropped = 0, number = 0;
        try (BufferedReader in = new BufferedReader(new InputStreamReader(fs.open(path), StandardCharsets.UTF_8))) {
            for (String line; (line = in.readLine()) != null; ) {
                number++;
                if (line.isBlank()) continue;
                String source = path + " line " + number;
                JsonNode node;
                try {
                    node = MAPPER.readTree(line);
                } catch (IOException e) {
                    // The tail of a writer that died mid-line: the steps after the checkpoint are trained again anyway.
                    LOG.warn("{}: not JSON, left out ({})", source, e.getMessage());
                    continue;
                }
                if (StepMetrics.Fields.integer(node, "step", source) > lastStep) {
                    dropped++;
                } else if (node.has("val_loss")) {
                    validations.add(Validation.fromJson(node, source));
                } else {
                    steps.add(StepMetrics.fromJson(node, source));
                }
            }
        } catch (FileNotFoundException e) {
            return; // no metrics yet: the run had not written any, or started before they existed
        } catch (ChecksumException e) {
            // Damaged past some point: what was read before it is good, the later steps are trained again anyway.
            LOG.warn("{}: {}; keeping the {} lines before it", path, e.getMessage(), number);
        }
        if (dropped > 0) LOG.info("{}: dropped {} lines of steps after the resumed step {}", path, dropped, lastStep);
    }

    void add(StepMetrics step) {
        steps.add(step);
        pending.add(step.toJson().toString());
    }

    /** A validation result; one for a step already recorded (a resumed run evaluating again) replaces it. */
    void add(Validation validation) {
        if (validations.removeIf(v -> v.step() == validation.step())) rewriteNeeded = true;
        validations.add(validation);
        pending.add(validation.toJson().toString());
    }

    List<StepMetrics> steps() {
        return steps;
    }

    List<Validation> validations() {
        return validations;
    }

    String path() {
        return path.toString();
    }

    /** Puts the recorded lines into the file: appended where possible, else by rewriting the file. */
    void flush() throws IOException {
        if (pending.isEmpty() && !rewriteNeeded) return;
        if (appendWorks && !rewriteNeeded) {
            try (FSDataOutputStream out = fs.append(path)) {
                writeLines(out, pending);
                pending.clear();
                return;
            } catch (UnsupportedOperationException e) { // local files through Hadoop's checksums, object stores
                appendWorks = false;
                LOG.debug("{}: the FileSystem cannot append ({}); the file is rewritten instead", path, e.toString());
            } catch (IOException e) {
                appendWorks = false;
                LOG.warn("{}: appending failed ({}); the file is rewritten instead from now on", path, e.toString());
            }
        }
        rewrite();
    }

    /** Everything recorded in step order, a validation after the step it followed. */
    void forEachInStepOrder(Consumer<StepMetrics> step, Consumer<Validation> validation) {
        int v = 0;
        List<Validation> byStep = new ArrayList<>(validations);
        byStep.sort((a, b) -> Integer.compare(a.step(), b.step()));
        for (StepMetrics s : steps) {
            while (v < byStep.size() && byStep.get(v).step() < s.step()) validation.accept(byStep.get(v++));
            step.accept(s);
        }
        while (v < byStep.size()) validation.accept(byStep.get(v++));
    }

    /** The whole file from what is recorded, written next to it and renamed over it. */
    private void rewrite() throws IOException {
        List<String> lines = new ArrayList<>();
        forEachInStepOrder(s -> lines.add(s.toJson().toString()), v -> lines.add(v.toJson().toString()));
        replace(path, text(lines), conf);
        pending.clear();
        rewriteNeeded = false;
    }

    private static void writeLines(OutputStream out, List<String> lines) throws IOException {
        out.write(text(lines));
    }

    private static byte[] text(List<String> lines) {
        StringBuilder text = new StringBuilder();
        for (String line : lines) text.append(line).append('\n');
        return text.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** Writes {@code bytes} to a hidden file beside {@code target} and renames it over {@code target}. */
    static void replace(Path target, byte[] bytes, Configuration conf) throws IOException {
        FileSystem fs = target.getFileSystem(conf);
        Path tmp = new Path(target.getParent(), "." + target.getName() + ".tmp-" + UUID.randomUUID());
        try {
            try (FSDataOutputStream out = fs.create(tmp, false)) {
                out.write(bytes);
            }
            FileContext.getFileContext(target.toUri(), conf).rename(tmp, target, Options.Rename.OVERWRITE);
        } finally {
            if (fs.exists(tmp)) fs.delete(tmp, false);
        }
    }
}
