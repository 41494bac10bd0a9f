package dev.jllama.model.export;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jllama.model.LlamaConfig;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jllama.model.checkpoint.CheckpointStore;
import dev.jllama.model.checkpoint.SafeTensors;
import dev.jllama.model.checkpoint.TrainingState;
import java.io.BufferedInputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Reads a Hugging Face {@code LlamaForCausalLM} directory: {@code config.json}, the weights in one
 * {@code model.safetensors} or in shards listed by {@code model.safetensors.index.json} (F32, F16 or BF16), and
 * {@code tokenizer.model} when present. Query and key rows go back to Meta's interleaved order. Configurations this
 * model cannot run exactly (RoPE scaling, biases, an activation other than SiLU, ...) are refused, naming the field.
 */
public final class HfImport {

    /** An imported model; {@code tokenizerModel} is null when the directory has no {@code tokenizer.model}. */
    public record Imported(ModelWeights weights, byte[] tokenizerModel) {}

    private static final ObjectMapper JSON = new ObjectMapper();

    private HfImport() {}

    public static Imported read(FileSystem fs, Path dir) throws IOException {
        if (!fs.exists(dir)) throw new FileNotFoundException("Hugging Face model directory " + dir + " does not exist");
        LlamaConfig config = config(fs, new Path(dir, HfExport.CONFIG_FILE));
        Map<String, SafeTensors.Entry> tensors = tensors(fs, dir);
        ModelWeights weights = weights(config, tensors, dir);
        Path tokenizer = new Path(dir, HfExport.TOKENIZER_FILE);
        byte[] tokenizerModel = null;
        if (fs.exists(tokenizer)) {
            try (InputStream in = fs.open(tokenizer)) {
                tokenizerModel = in.readAllBytes();
            }
        }
        return new Imported(weights, tokenizerModel);
    }

    /**
     * Writes an imported model as step 0 of a run directory ({@code <runDir>/checkpoints/step-00000000/}): its
     * weights, zero AdamW moments, and a state that {@code train --resume} continues from when given the same
     * model config and {@code seed}. Refuses a run directory that already holds checkpoints.
     *
     * @return the checkpoint directory
     */
    public static String writeCheckpoint(Imported imported, String runDir, Configuration conf, long seed, String source)
            throws IOException {
        CheckpointStore store = new CheckpointStore(new Path(CheckpointStore.toUri(runDir)) + "/checkpoints", conf);
        if (store.latest().isPresent()) {
            throw new IOException(store.root() + " already holds checkpoints; import into a new directory");
        }
        LlamaConfig config = imported.weights().config();
        List<SafeTensors.Entry> weights = new ArrayList<>();
        List<SafeTensors.Entry> moments = new ArrayList<>();
        for (TensorNames t : TensorNames.of(config)) {
            weights.add(new SafeTensors.Entry(t.ours(), t.shape(), imported.weights().get(t)));
            float[] zeros = new float[t.size()];
            moments.add(new SafeTensors.Entry("m." + t.ours(), t.shape(), zeros));
            moments.add(new SafeTensors.Entry("v." + t.ours(), t.shape(), zeros));
        }
        ObjectNode options = JSON.createObjectNode().put("imported_from", source);
        List<String> noDataPosition = new ArrayList<>();
        noDataPosition.add(null);
        TrainingState state = new TrainingState(config, 0, seed, 0, Double.NaN, noDataPosition, options);
        return store.save(state, weights, moments, imported.tokenizerModel(), 1);
    }

    /** Our configuration from a {@code config.json}, refusing what the model does not implement. */
    static LlamaConfig config(FileSystem fs, Path file) throws IOException {
        if (!fs.exists(file)) {
            throw new FileNotFoundException(file + " does not exist (a Hugging Face model directory has a config.json)");
        }
        JsonNode node;
        try (InputStream in = fs.open(file)) {
            node = JSON.readTree(in);
        } catch (IOException e) {
            throw new IOException(file + " is not valid JSON: " + e.getMessage(), e);
        }
        try {
            return config(node);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    static LlamaConfig config(JsonNode node) {
        String modelType = node.path("model_type").asText("");
        boolean llamaArchitecture = false;
        for (JsonNode a : node.path("architectures")) llamaArchitecture |= a.asText().equals("LlamaForCausalLM");
        if (!modelType.equals("llama") && !llamaArchitecture) {
            throw new IllegalArgumentException("field 'model_type' is '" + modelType + "' and 'architectures' is "
                    + node.path("architectures") + ": only llama / LlamaForCausalLM models can be imported");
        }
        refuseUnless(node, "hidden_act", "silu");
        refuseUnless(node, "attention_bias", false);
        refuseUnless(node, "mlp_bias", false);
        refuseUnless(node, "pretraining_tp", 1);
        JsonNode scaling = node.path("rope_scaling");
        if (!scaling.isMissingNode() && !scaling.isNull()) {
            throw new IllegalArgumentException("field 'rope_scaling' is " + scaling + ": RoPE scaling is not supported");
        }
        double ropeTheta = node.path("rope_theta").asDouble(10000.0);
        JsonNode rope = node.path("rope_parameters");
        if (rope.isObject()) {
            String ropeType = rope.path("rope_type").asText("default");
            if (!ropeType.equals("default")) {
                throw new IllegalArgumentException("field 'rope_parameters.rope_type' is '" + ropeType
                        + "': only default RoPE is supported");
            }
            if (rope.has("rope_theta")) ropeTheta = rope.get("rope_theta").asDouble();
        }
        int dim = integer(node, "hidden_size");
        int heads = integer(node, "num_attention_heads");
        int kvHeads = node.has("num_key_value_heads") && !node.get("num_key_value_heads").isNull()
                ? integer(node, "num_key_value_heads") : heads;
        if (node.has("head_dim") && !node.get("head_dim").isNull() && heads > 0
                && integer(node, "head_dim") * heads != dim) {
            throw new IllegalArgumentException("field 'head_dim' is " + node.get("head_dim") + " but hidden_size / "
                    + "num_attention_heads is " + dim / heads + ": a separate head width is not supported");
        }
        return new LlamaConfig(dim, integer(node, "num_hidden_layers"), heads, kvHeads,
                integer(node, "vocab_size"), integer(node, "intermediate_size"),
                (float) node.path("rms_norm_eps").asDouble(1e-6), (float) ropeTheta,
                integer(node, "max_position_embeddings"), node.path("tie_word_embeddings").asBoolean(false));
    }

    private static void refuseUnless(JsonNode node, String field, Object supported) {
        JsonNode value = node.get(field);
        if (value == null || value.isNull()) return;
        boolean ok = supported instanceof Boolean b ? value.isBoolean() && value.asBoolean() == b
                : supported instanceof Integer i ? value.canConvertToInt() && value.asInt() == i
                : value.asText().equals(supported);
        if (!ok) {
            throw new IllegalArgumentException("field '" + field + "' is " + value + ": only " + supported
                    + " is supported");
        }
    }

    private static int integer(JsonNode node, String field) {
        JsonNode value = node.get(field);
        if (value == null || value.isNull()) throw new IllegalArgumentException("missing field '" + field + "'");
        if (!value.canConvertToInt()) {
            throw new IllegalArgumentException("field '" + field + "' must be an integer, got " + value);
        }
        return value.asInt();
    }

    /** Every tensor of the single file or of all shards the index lists, by Hugging Face name. */
    static Map<String, SafeTensors.Entry> tensors(FileSystem fs, Path dir) throws IOException {
        Path single = new Path(dir, HfExport.WEIGHTS_FILE);
        Path index = new Path(dir, HfExport.WEIGHTS_INDEX_FILE);
        Set<String> files = new LinkedHashSet<>();
        Map<String, String> expectedFile = new HashMap<>();
        if (fs.exists(index)) {
            JsonNode map;
            try (InputStream in = fs.open(index)) {
                map = JSON.readTree(in).path("weight_map");
            } catch (IOException e) {
                throw new IOException(index + " is not valid JSON: " + e.getMessage(), e);
            }
            if (!map.isObject() || map.isEmpty()) throw new IOException(index + ": missing or empty field 'weight_map'");
            for (Iterator<Map.Entry<String, JsonNode>> it = map.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                files.add(e.getValue().asText());
                expectedFile.put(e.getKey(), e.getValue().asText());
            }
        } else if (fs.exists(single)) {
            files.add(HfExport.WEIGHTS_FILE);
        } else {
            throw new FileNotFoundException(dir + " has neither " + HfExport.WEIGHTS_FILE + " nor "
                    + HfExport.WEIGHTS_INDEX_FILE + " (only safetensors weights can be imported, not pytorch_model.bin)");
        }
        Map<String, SafeTensors.Entry> all = new LinkedHashMap<>();
        for (String name : files) {
            Path file = new Path(dir, name);
            if (!fs.exists(file)) throw new FileNotFoundException(file + " does not exist (listed in " + index + ")");
            try (InputStream in = new BufferedInputStream(fs.open(file), 1 << 20)) {
                for (SafeTensors.Entry e : SafeTensors.read(in, file.toString()).values()) {
                    String listed = expectedFile.get(e.name());
                    if (!expectedFile.isEmpty() && !name.equals(listed)) {
                        throw new IOException(file + ": tensor '" + e.name() + "' is not listed for this file in "
                                + index);
                    }
                    if (all.put(e.name(), e) != null) throw new IOException(file + ": tensor '" + e.name() + "' appears twice");
                }
            }
        }
        for (String name : expectedFile.keySet()) {
            if (!all.containsKey(name)) {
                throw new IOException(new Path(dir, expectedFile.get(name)) + ": missing tensor '" + name
                        + "' that " + index + " lists");
            }
        }
        return all;
    }

    /** Our tensors from Hugging Face's, checking that every one is there with its shape and none is left over. */
    static ModelWeights weights(LlamaConfig config, Map<String, SafeTensors.Entry> hf, Path dir) throws IOException {
        Map<String, SafeTensors.Entry> left = new LinkedHashMap<>(hf);
        // Older exports saved RoPE's inverse frequencies as buffers; they follow from the config.
        left.keySet().removeIf(name -> name.endsWith(".self_attn.rotary_emb.inv_freq"));
        // A tied head may be saved as a copy of the embedding; the model uses the embedding.
        if (config.tiedEmbeddings()) left.remove("lm_head.weight");
        Map<String, float[]> tensors = new LinkedHashMap<>();
        for (TensorNames t : TensorNames.of(config)) {
            SafeTensors.Entry entry = left.remove(t.hf());
            if (entry == null) {
                throw new IOException(dir + ": missing tensor '" + t.hf() + "'"
                        + (t.hf().equals("lm_head.weight") ? " (config.json says tie_word_embeddings is false)" : ""));
            }
            if (!Arrays.equals(entry.shape(), t.shape())) {
                throw new IOException(dir + ": tensor '" + t.hf() + "' has shape " + Arrays.toString(entry.shape())
                        + ", config.json implies " + Arrays.toString(t.shape()));
            }
            float[] values = entry.data();
            if (t.rope()) values = RopeLayout.halvesToInterleaved(values, t.ropeHeads(), config.headDim(), config.dim());
            tensors.put(t.ours(), values);
        }
        if (!left.isEmpty()) {
            throw new IOException(dir + ": tensors this model does not have: " + String.join(", ", left.keySet())
                    + " (biases and other extra tensors are not supported)");
        }
        return new ModelWeights(config, tensors);
    }
}
