package dev.jllama.model.export;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jllama.model.LlamaConfig;
import dev.jllama.model.checkpoint.SafeTensors;
import dev.jllama.model.checkpoint.TensorType;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Writes a Hugging Face {@code LlamaForCausalLM} directory: {@code config.json}, {@code generation_config.json},
 * {@code model.safetensors} (Hugging Face names, query and key rows in rotate-half order), and, with a tokenizer,
 * {@code tokenizer.model}, {@code tokenizer_config.json} and {@code special_tokens_map.json}.
 */
public final class HfExport {
    public static final String CONFIG_FILE = "config.json";
    public static final String GENERATION_CONFIG_FILE = "generation_config.json";
    public static final String WEIGHTS_FILE = "model.safetensors";
    public static final String WEIGHTS_INDEX_FILE = "model.safetensors.index.json";
    public static final String TOKENIZER_FILE = "tokenizer.model";
    public static final String TOKENIZER_CONFIG_FILE = "tokenizer_config.json";
    public static final String SPECIAL_TOKENS_FILE = "special_tokens_map.json";

    private static final ObjectMapper JSON = new ObjectMapper();

    private HfExport() {}

    /**
     * @param vocabulary the model's tokenizer, or null to write no tokenizer files
     * @return the names of the files written
     */
    public static List<String> write(FileSystem fs, Path dir, ModelWeights model, Vocabulary vocabulary, TensorType dtype)
            throws IOException {
        LlamaConfig c = model.config();
        if (vocabulary != null && vocabulary.size() != c.vocabSize()) {
            throw new IllegalArgumentException("the tokenizer has " + vocabulary.size() + " pieces but the model's "
                    + "vocab_size is " + c.vocabSize());
        }
        fs.mkdirs(dir);
        List<String> written = new ArrayList<>();
        List<SafeTensors.Entry> entries = new ArrayList<>();
        for (TensorNames t : TensorNames.of(c)) {
            float[] values = model.get(t);
            if (t.rope()) values = RopeLayout.interleavedToHalves(values, t.ropeHeads(), c.headDim(), c.dim());
            entries.add(new SafeTensors.Entry(t.hf(), t.shape(), values));
        }
        try (OutputStream out = new BufferedOutputStream(fs.create(new Path(dir, WEIGHTS_FILE), true), 1 << 20)) {
            SafeTensors.write(out, entries, Map.of("format", "pt"), dtype);
        }
        written.add(WEIGHTS_FILE);
        writeJson(fs, new Path(dir, CONFIG_FILE), config(c, vocabulary, dtype));
        written.add(CONFIG_FILE);
        writeJson(fs, new Path(dir, GENERATION_CONFIG_FILE), generationConfig(vocabulary));
        written.add(GENERATION_CONFIG_FILE);
        if (vocabulary != null) {
            try (OutputStream out = fs.create(new Path(dir, TOKENIZER_FILE), true)) {
                out.write(vocabulary.modelProto());
            }
            written.add(TOKENIZER_FILE);
            writeJson(fs, new Path(dir, TOKENIZER_CONFIG_FILE), tokenizerConfig(c, vocabulary));
            written.add(TOKENIZER_CONFIG_FILE);
            writeJson(fs, new Path(dir, SPECIAL_TOKENS_FILE), specialTokens(vocabulary));
            written.add(SPECIAL_TOKENS_FILE);
        }
        return written;
    }

    static ObjectNode config(LlamaConfig c, Vocabulary vocabulary, TensorType dtype) {
        ObjectNode node = JSON.createObjectNode();
        node.putArray("architectures").add("LlamaForCausalLM");
        node.put("model_type", "llama");
        node.put("hidden_size", c.dim());
        node.put("intermediate_size", c.hiddenDim());
        node.put("num_hidden_layers", c.layers());
        node.put("num_attention_heads", c.heads());
        node.put("num_key_value_heads", c.kvHeads());
        node.put("head_dim", c.headDim());
        node.put("hidden_act", "silu");
        node.put("max_position_embeddings", c.maxSeqLen());
        // The shortest decimal of the float we compute with, so that readers get that float back.
        node.put("rms_norm_eps", Double.parseDouble(Float.toString(c.normEps())));
        node.put("rope_theta", Double.parseDouble(Float.toString(c.ropeTheta())));
        node.putNull("rope_scaling");
        node.put("attention_bias", false);
        node.put("attention_dropout", 0.0);
        node.put("mlp_bias", false);
        node.put("initializer_range", 0.02);
        node.put("vocab_size", c.vocabSize());
        if (vocabulary != null) putSpecialIds(node, vocabulary);
        node.put("tie_word_embeddings", c.tiedEmbeddings());
        node.put("torch_dtype", dtype.torchName);
        node.put("use_cache", true);
        return node;
    }

    private static void putSpecialIds(ObjectNode node, Vocabulary vocabulary) {
        if (vocabulary.bosId() >= 0) node.put("bos_token_id", vocabulary.bosId());
        if (vocabulary.eosId() >= 0) node.put("eos_token_id", vocabulary.eosId());
        if (vocabulary.padId() >= 0) node.put("pad_token_id", vocabulary.padId());
    }

    static ObjectNode generationConfig(Vocabulary vocabulary) {
        ObjectNode node = JSON.createObjectNode();
        if (vocabulary != null) putSpecialIds(node, vocabulary);
        return node;
    }

    /**
     * Hugging Face's {@code LlamaTokenizer} over our {@code tokenizer.model}. No BOS is added: our training data are
     * documents separated by EOS, so a model never sees BOS. Special-token strings in text stay text
     * ({@code split_special_tokens}), as SentencePiece and our tokenizer treat them.
     */
    static ObjectNode tokenizerConfig(LlamaConfig c, Vocabulary vocabulary) {
        ObjectNode node = JSON.createObjectNode();
        node.put("tokenizer_class", "LlamaTokenizer");
        node.put("add_bos_token", false);
        node.put("add_eos_token", false);
        node.put("add_prefix_space", vocabulary.addDummyPrefix());
        node.put("legacy", false);
        node.put("split_special_tokens", true);
        node.put("clean_up_tokenization_spaces", false);
        node.put("model_max_length", c.maxSeqLen());
        putSpecialPieces(node, vocabulary);
        return node;
    }

    static ObjectNode specialTokens(Vocabulary vocabulary) {
        ObjectNode node = JSON.createObjectNode();
        putSpecialPieces(node, vocabulary);
        return node;
    }

    private static void putSpecialPieces(ObjectNode node, Vocabulary vocabulary) {
        if (vocabulary.bosId() >= 0) node.put("bos_token", vocabulary.piece(vocabulary.bosId()));
        if (vocabulary.eosId() >= 0) node.put("eos_token", vocabulary.piece(vocabulary.eosId()));
        if (vocabulary.unkId() >= 0) node.put("unk_token", vocabulary.piece(vocabulary.unkId()));
        if (vocabulary.padId() >= 0) node.put("pad_token", vocabulary.piece(vocabulary.padId()));
    }

    private static void writeJson(FileSystem fs, Path file, ObjectNode node) throws IOException {
        try (OutputStream out = fs.create(file, true)) {
            out.write(JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(node));
            out.write('\n');
        }
    }
}
