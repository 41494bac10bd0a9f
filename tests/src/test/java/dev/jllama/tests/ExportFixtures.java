package dev.jllama.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jllama.cli.Main;
import dev.jllama.data.tokenizer.Tokenizer;
import dev.jllama.model.LlamaConfig;
import dev.jllama.model.LlamaModel;
import dev.jllama.model.backend.Precision;
import dev.jllama.model.backend.cpu.CpuBackend;
import dev.jllama.model.checkpoint.CheckpointStore;
import dev.jllama.model.checkpoint.SafeTensors;
import dev.jllama.model.checkpoint.TrainingState;
import dev.jllama.model.export.ModelWeights;
import dev.jllama.model.export.TensorNames;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.hadoop.conf.Configuration;

/** Models with the bundled tokenizer's vocabulary written as checkpoints, for the export checks. */
final class ExportFixtures {
    /** The bundled tokenizer's vocabulary and the tiny preset's shape (GQA), tied and untied. */
    static final LlamaConfig TIED = LlamaConfig.PRESETS.get("tiny");
    static final LlamaConfig UNTIED = TIED.withTiedEmbeddings(false);

    /**
     * A few paragraphs of ordinary text: the sample the tokenizer and logits checks use (single spaces, since
     * Hugging Face's Llama tokenizer keeps runs of spaces that SentencePiece collapses; see the README).
     */
    static final String TEXT = """
            The history of the city begins in 1832, when a small group of families settled along the river.
            By 1900 it had grown to 45,000 inhabitants; its mills produced cloth, paper and flour.
            "We did not expect the railway to change everything," wrote one merchant in a letter.""";

    private ExportFixtures() {}

    /**
     * Random weights large enough that attention is far from uniform (a wrong RoPE order changes the logits) and
     * norm gains away from 1 (swapped norms show).
     */
    static ModelWeights randomWeights(LlamaConfig config, long seed) {
        return randomWeights(config, seed, 0.3);
    }

    /** Random weights: matrices N(0, std^2), norm gains 1 + N(0, 0.2^2). */
    static ModelWeights randomWeights(LlamaConfig config, long seed, double std) {
        SplittableRandom random = new SplittableRandom(seed);
        Map<String, float[]> tensors = new LinkedHashMap<>();
        for (TensorNames t : TensorNames.of(config)) {
            float[] values = new float[t.size()];
            for (int i = 0; i < values.length; i++) {
                values[i] = (float) (t.isVector() ? 1 + 0.2 * random.nextGaussian() : std * random.nextGaussian());
            }
            tensors.put(t.ours(), values);
        }
        return new ModelWeights(config, tensors);
    }

    /** {@code model} as step 7 of a run directory, with the bundled tokenizer; returns the run directory. */
    static Path checkpoint(ModelWeights model, Path runDir) throws IOException {
        List<SafeTensors.Entry> weights = new ArrayList<>(), moments = new ArrayList<>();
        for (TensorNames t : TensorNames.of(model.config())) {
            weights.add(new SafeTensors.Entry(t.ours(), t.shape(), model.get(t)));
            moments.add(new SafeTensors.Entry("m." + t.ours(), t.shape(), new float[t.size()]));
            moments.add(new SafeTensors.Entry("v." + t.ours(), t.shape(), new float[t.size()]));
        }
        CheckpointStore store = new CheckpointStore(runDir.resolve("checkpoints").toString(), new Configuration());
        store.save(new TrainingState(model.config(), 7, 1234, 0, Double.NaN, new ArrayList<>(List.of()), null),
                weights, moments, Tokenizer.bundled().toModelBytes(), 1);
        return runDir;
    }

    /** Our model on the CPU backend holding {@code weights}. */
    static LlamaModel load(ModelWeights weights) {
        return load(weights, Precision.FP32);
    }

    /** Our model on the CPU backend in {@code precision} holding {@code weights}. */
    static LlamaModel load(ModelWeights weights, Precision precision) {
        LlamaModel model = new LlamaModel(weights.config(), new CpuBackend(1, precision));
        for (var p : model.parameters().all()) {
            float[] values = weights.tensors().get(p.name());
            model.backend().write(p.value(), 0, values, 0, values.length);
        }
        return model;
    }

    /** Runs {@code llama ARGS --json}, which must succeed, and returns its result object. */
    static JsonNode llama(String... args) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        List<String> argv = new ArrayList<>(List.of(args));
        argv.add("--json");
        int status = Main.run(argv.toArray(String[]::new), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(0, status, "llama " + String.join(" ", args) + ": " + err.toString(StandardCharsets.UTF_8));
        String[] lines = out.toString(StandardCharsets.UTF_8).strip().split("\n");
        return new ObjectMapper().readTree(lines[lines.length - 1]);
    }

    /** A token batch as hf_check.py reads it. */
    static Path batchFile(Path file, int batch, int seqLen, int[] tokens) throws IOException {
        ObjectNode node = new ObjectMapper().createObjectNode().put("batch", batch).put("seq_len", seqLen);
        var array = node.putArray("tokens");
        for (int t : tokens) array.add(t);
        Files.writeString(file, node.toString());
        return file;
    }
}
