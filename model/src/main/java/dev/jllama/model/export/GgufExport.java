package dev.jllama.model.export;

import dev.jllama.model.LlamaConfig;
import dev.jllama.model.checkpoint.TensorType;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Writes a model as a GGUF file for llama.cpp: {@code general.*} and {@code llama.*} metadata, the SentencePiece
 * vocabulary as {@code tokenizer.ggml.*}, and the tensors under llama.cpp's names. GGUF keeps Meta's interleaved
 * RoPE order (llama.cpp's converter undoes Hugging Face's permutation), which is ours, so no rows move. Matrices
 * are written as the chosen type; norm gains stay float32, as llama.cpp's converter keeps 1-D tensors.
 */
public final class GgufExport {
    public static final String FILE = "model.gguf";

    /** {@code general.file_type} (llama.cpp's {@code LlamaFileType}) for matrices of each type. */
    static int fileType(TensorType type) {
        return switch (type) {
            case F32 -> 0;
            case F16 -> 1;
            case BF16 -> 32;
        };
    }

    private GgufExport() {}

    public static void write(FileSystem fs, Path file, ModelWeights model, Vocabulary vocabulary, TensorType dtype,
                             String name) throws IOException {
        GgufWriter gguf = build(model, vocabulary, dtype, name);
        try (OutputStream out = new BufferedOutputStream(fs.create(file, true), 1 << 20)) {
            gguf.write(out);
        }
    }

    static GgufWriter build(ModelWeights model, Vocabulary vocabulary, TensorType dtype, String name) {
        LlamaConfig c = model.config();
        if (vocabulary.size() != c.vocabSize()) {
            throw new IllegalArgumentException("the tokenizer has " + vocabulary.size() + " pieces but the model's "
                    + "vocab_size is " + c.vocabSize());
        }
        GgufWriter gguf = new GgufWriter();
        gguf.putString("general.architecture", "llama");
        gguf.putString("general.type", "model");
        gguf.putString("general.name", name);
        gguf.putUint32("general.alignment", GgufWriter.ALIGNMENT);
        gguf.putUint32("general.file_type", fileType(dtype));
        gguf.putUint32("llama.vocab_size", c.vocabSize());
        gguf.putUint32("llama.context_length", c.maxSeqLen());
        gguf.putUint32("llama.embedding_length", c.dim());
        gguf.putUint32("llama.block_count", c.layers());
        gguf.putUint32("llama.feed_forward_length", c.hiddenDim());
        gguf.putUint32("llama.attention.head_count", c.heads());
        gguf.putUint32("llama.attention.head_count_kv", c.kvHeads());
        gguf.putFloat32("llama.attention.layer_norm_rms_epsilon", c.normEps());
        gguf.putUint32("llama.rope.dimension_count", c.headDim());
        gguf.putFloat32("llama.rope.freq_base", c.ropeTheta());
        gguf.putString("tokenizer.ggml.model", "llama");
        gguf.putString("tokenizer.ggml.pre", "default");
        gguf.putStrings("tokenizer.ggml.tokens", vocabulary.pieces());
        gguf.putFloat32s("tokenizer.ggml.scores", vocabulary.scores());
        gguf.putInt32s("tokenizer.ggml.token_type", vocabulary.types());
        if (vocabulary.bosId() >= 0) gguf.putUint32("tokenizer.ggml.bos_token_id", vocabulary.bosId());
        if (vocabulary.eosId() >= 0) gguf.putUint32("tokenizer.ggml.eos_token_id", vocabulary.eosId());
        if (vocabulary.unkId() >= 0) gguf.putUint32("tokenizer.ggml.unknown_token_id", vocabulary.unkId());
        if (vocabulary.padId() >= 0) gguf.putUint32("tokenizer.ggml.padding_token_id", vocabulary.padId());
        // Our training data never has BOS (documents are separated by EOS), so llama.cpp should not add it.
        gguf.putBool("tokenizer.ggml.add_bos_token", false);
        gguf.putBool("tokenizer.ggml.add_eos_token", false);
        gguf.putBool("tokenizer.ggml.add_space_prefix", vocabulary.addDummyPrefix());
        // With tied embeddings there is no output tensor: llama.cpp then uses token_embd for the head.
        for (TensorNames t : TensorNames.of(c)) {
            gguf.addTensor(t.gguf(), t.shape(), t.isVector() ? TensorType.F32 : dtype, model.get(t));
        }
        return gguf;
    }
}
