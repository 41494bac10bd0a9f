package dev.jllama.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The shape of a LLaMA model.
 *
 * @param dim          model width
 * @param layers       transformer blocks
 * @param heads        query heads
 * @param kvHeads      key/value heads (grouped-query attention when fewer than {@code heads})
 * @param vocabSize    vocabulary size
 * @param hiddenDim    SwiGLU feed-forward width
 * @param normEps      RMSNorm epsilon
 * @param ropeTheta    RoPE base
 * @param maxSeqLen    longest context
 * @param tiedEmbeddings whether the LM head shares the token embedding
 */
public record LlamaConfig(int dim, int layers, int heads, int kvHeads, int vocabSize, int hiddenDim,
                          float normEps, float ropeTheta, int maxSeqLen, boolean tiedEmbeddings) {

    public LlamaConfig {
        require(dim > 0, "dim", dim);
        require(layers > 0, "layers", layers);
        require(heads > 0 && dim % heads == 0, "heads (must divide dim " + dim + ")", heads);
        require(kvHeads > 0 && heads % kvHeads == 0, "kv_heads (must divide heads " + heads + ")", kvHeads);
        require((dim / heads) % 2 == 0, "head dimension (must be even for RoPE)", dim / heads);
        require(vocabSize > 0, "vocab_size", vocabSize);
        require(hiddenDim > 0, "hidden_dim", hiddenDim);
        require(normEps > 0, "norm_eps", normEps);
        require(ropeTheta > 0, "rope_theta", ropeTheta);
        require(maxSeqLen > 0, "max_seq_len", maxSeqLen);
    }

    private static void require(boolean ok, String field, Object value) {
        if (!ok) throw new IllegalArgumentException("invalid model config: " + field + " = " + value);
    }

    /** LLaMA's feed-forward width: 2/3 of 4·dim, rounded up to a multiple of {@code multipleOf}. */
    public static int llamaHiddenDim(int dim, int multipleOf) {
        int hidden = 2 * (4 * dim) / 3;
        return multipleOf * ((hidden + multipleOf - 1) / multipleOf);
    }

    public static LlamaConfig of(int dim, int layers, int heads, int kvHeads, int vocab, int maxSeqLen, int multipleOf) {
        return new LlamaConfig(dim, layers, heads, kvHeads, vocab, llamaHiddenDim(dim, multipleOf),
                1e-5f, 10000f, maxSeqLen, false);
    }

    public int headDim() {
        return dim / heads;
    }

    public int kvDim() {
        return kvHeads * headDim();
    }

    public LlamaConfig withVocabSize(int vocab) {
        return new LlamaConfig(dim, layers, heads, kvHeads, vocab, hiddenDim, normEps, ropeTheta, maxSeqLen,
                tiedEmbeddings);
    }

    public LlamaConfig withTiedEmbeddings(boolean tied) {
        return new LlamaConfig(dim, layers, heads, kvHeads, vocabSize, hiddenDim, normEps, ropeTheta, maxSeqLen, tied);
    }

    /** Parameters of one transformer block. */
    public long blockParameters() {
        long attention = (long) dim * dim * 2 + 2L * dim * kvDim();
        long ffn = 3L * dim * hiddenDim;
        return attention + ffn + 2L * dim;
    }

    public long parameterCount() {
        long embedding = (long) vocabSize * dim;
        return embedding + (tiedEmbeddings ? 0 : embedding) + layers * blockParameters() + dim;
    }

    /** The paper's presets and small ones for a single machine. */
    public static final Map<String, LlamaConfig> PRESETS = presets();

    private static Map<String, LlamaConfig> presets() {
        Map<String, LlamaConfig> presets = new LinkedHashMap<>();
        // tiny: GQA and tied embeddings on purpose, so the smallest tests exercise both; vocabulary of the
        // bundled tokenizer; about 0.36M parameters.
        presets.put("tiny", new LlamaConfig(64, 2, 4, 2, 4096, llamaHiddenDim(64, 32), 1e-5f, 10000f, 128, true));
        // 15M/42M/110M: the llama2.c "stories" shapes, whose names count the shared embedding/LM-head matrix once.
        presets.put("15M", of(288, 6, 6, 6, 32000, 256, 32).withTiedEmbeddings(true));
        presets.put("42M", of(512, 8, 8, 8, 32000, 1024, 32).withTiedEmbeddings(true));
        presets.put("110M", of(768, 12, 12, 12, 32000, 1024, 32).withTiedEmbeddings(true));
        // 1.1B: the largest shape of the GPU throughput goals (dim 2048, 16 layers, 32 query and 8 key/value
        // heads, feed-forward 8192, untied LM head): 1,104,218,112 parameters, a single-GPU model.
        presets.put("1.1B", new LlamaConfig(2048, 16, 32, 8, 32000, 8192, 1e-5f, 10000f, 2048, false));
        presets.put("7B", of(4096, 32, 32, 32, 32000, 2048, 256));
        presets.put("13B", of(5120, 40, 40, 40, 32000, 2048, 256));
        presets.put("33B", of(6656, 60, 52, 52, 32000, 2048, 256));
        presets.put("65B", of(8192, 80, 64, 64, 32000, 2048, 256));
        return java.util.Collections.unmodifiableMap(presets);
    }

    /**
     * A peak learning rate for a preset: the paper's for 7B–65B (and its 7B rate for 1.1B, between the GPT-3
     * paper's 2.0e-4 at 1.3B and TinyLlama's 4e-4 at 1.1B), and values that train the small presets well in a few
     * hundred steps.
     */
    public static double recommendedPeakLr(String preset) {
        return switch (preset) {
            case "tiny" -> 3e-3;
            case "15M" -> 1e-3;
            case "42M", "110M" -> 6e-4;
            case "1.1B", "7B", "13B" -> 3e-4;
            case "33B", "65B" -> 1.5e-4;
            default -> 3e-4;
        };
    }

    /** A preset name, or a JSON file with the fields of {@link #toJson()} (missing ones take LLaMA defaults). */
    public static LlamaConfig resolve(String presetOrFile) throws IOException {
        LlamaConfig preset = PRESETS.get(presetOrFile);
        if (preset != null) return preset;
        Path file = Path.of(presetOrFile);
        if (!Files.exists(file)) {
            throw new IllegalArgumentException("unknown model '" + presetOrFile + "': neither a preset "
                    + PRESETS.keySet() + " nor an existing file");
        }
        JsonNode node;
        try {
            node = new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new IOException("model config " + file + " is not valid JSON: " + e.getMessage(), e);
        }
        try {
            return fromJson(node);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    public static LlamaConfig fromJson(JsonNode node) {
        int dim = field(node, "dim", -1);
        int heads = field(node, "heads", -1);
        int multipleOf = field(node, "multiple_of", 256);
        return new LlamaConfig(dim,
                field(node, "layers", -1),
                heads,
                field(node, "kv_heads", heads),
                field(node, "vocab_size", 32000),
                field(node, "hidden_dim", dim > 0 ? llamaHiddenDim(dim, multipleOf) : -1),
                (float) (node.has("norm_eps") ? node.get("norm_eps").asDouble() : 1e-5),
                (float) (node.has("rope_theta") ? node.get("rope_theta").asDouble() : 10000.0),
                field(node, "max_seq_len", 2048),
                node.has("tied_embeddings") && node.get("tied_embeddings").asBoolean());
    }

    private static int field(JsonNode node, String name, int fallback) {
        JsonNode value = node.get(name);
        if (value == null) {
            if (fallback < 0) throw new IllegalArgumentException("missing field '" + name + "'");
            return fallback;
        }
        if (!value.canConvertToInt()) {
            throw new IllegalArgumentException("field '" + name + "' must be an integer, got " + value);
        }
        return value.asInt();
    }

    public ObjectNode toJson() {
        ObjectNode node = new ObjectMapper().createObjectNode();
        node.put("dim", dim);
        node.put("layers", layers);
        node.put("heads", heads);
        node.put("kv_heads", kvHeads);
        node.put("vocab_size", vocabSize);
        node.put("hidden_dim", hiddenDim);
        node.put("norm_eps", normEps);
        node.put("rope_theta", ropeTheta);
        node.put("max_seq_len", maxSeqLen);
        node.put("tied_embeddings", tiedEmbeddings);
        return node;
    }
}
