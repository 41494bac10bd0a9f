package dev.jllama.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jllama.data.tokenizer.PieceType;
import dev.jllama.data.tokenizer.Tokenizer;
import dev.jllama.model.LlamaConfig;
import dev.jllama.model.checkpoint.TensorType;
import dev.jllama.model.export.ModelWeights;
import dev.jllama.model.export.TensorNames;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code llama export --format gguf} read back by the {@code gguf} package's GGUFReader. */
class GgufCrossCheckTest {
    @TempDir
    Path tmp;

    @BeforeAll
    static void needsPython() {
        HfPython.assumeAvailable();
    }

    @Test
    void ggufReaderGetsOurMetadataVocabularyAndTensors() throws Exception {
        check(ExportFixtures.TIED, TensorType.F32, "model-f32.gguf");
        check(ExportFixtures.UNTIED, TensorType.F16, null);
    }

    private void check(LlamaConfig config, TensorType dtype, String fileName) throws Exception {
        ModelWeights weights = ExportFixtures.randomWeights(config, 29);
        Path run = ExportFixtures.checkpoint(weights, tmp.resolve("run-" + dtype));
        Path out = fileName == null ? tmp.resolve("gguf-" + dtype) : tmp.resolve(fileName);
        JsonNode exported = ExportFixtures.llama("export", "--checkpoint", run.toString(), "--format", "gguf",
                "--out", out.toString(), "--dtype", dtype.name().toLowerCase());
        Path file = fileName == null ? out.resolve("model.gguf") : out;
        assertEquals(file.toUri().getPath(), Path.of(java.net.URI.create(exported.get("files").get(0).asText())).toString());
        Path values = tmp.resolve("values-" + dtype + ".bin");
        JsonNode read = new ObjectMapper().readTree(HfPython.run("gguf", file.toString(), values.toString()));

        assertEquals(3, read.get("version").asInt());
        assertEquals(32, read.get("alignment").asInt());
        JsonNode meta = read.get("metadata");
        assertEquals("llama", meta.get("general.architecture").asText());
        assertEquals(dtype == TensorType.F32 ? 0 : 1, meta.get("general.file_type").asInt());
        assertEquals(config.maxSeqLen(), meta.get("llama.context_length").asInt());
        assertEquals(config.dim(), meta.get("llama.embedding_length").asInt());
        assertEquals(config.layers(), meta.get("llama.block_count").asInt());
        assertEquals(config.hiddenDim(), meta.get("llama.feed_forward_length").asInt());
        assertEquals(config.heads(), meta.get("llama.attention.head_count").asInt());
        assertEquals(config.kvHeads(), meta.get("llama.attention.head_count_kv").asInt());
        assertEquals(config.normEps(), (float) meta.get("llama.attention.layer_norm_rms_epsilon").asDouble());
        assertEquals(config.headDim(), meta.get("llama.rope.dimension_count").asInt());
        assertEquals(config.ropeTheta(), (float) meta.get("llama.rope.freq_base").asDouble());
        assertEquals(config.vocabSize(), meta.get("llama.vocab_size").asInt());

        Tokenizer tokenizer = Tokenizer.bundled();
        assertEquals("llama", meta.get("tokenizer.ggml.model").asText());
        assertEquals(tokenizer.bosId(), meta.get("tokenizer.ggml.bos_token_id").asInt());
        assertEquals(tokenizer.eosId(), meta.get("tokenizer.ggml.eos_token_id").asInt());
        assertEquals(tokenizer.unkId(), meta.get("tokenizer.ggml.unknown_token_id").asInt());
        assertEquals(false, meta.get("tokenizer.ggml.add_bos_token").asBoolean());
        JsonNode tokens = meta.get("tokenizer.ggml.tokens"), scores = meta.get("tokenizer.ggml.scores"),
                types = meta.get("tokenizer.ggml.token_type");
        assertEquals(tokenizer.vocabSize(), tokens.size());
        int bytePieces = 0;
        for (int id = 0; id < tokenizer.vocabSize(); id++) {
            assertEquals(tokenizer.piece(id), tokens.get(id).asText(), "token " + id);
            assertEquals(tokenizer.score(id), (float) scores.get(id).asDouble(), "score " + id);
            assertEquals(tokenizer.type(id).wire, types.get(id).asInt(), "type " + id);
            if (types.get(id).asInt() == 6) bytePieces++;
        }
        assertEquals(256, bytePieces, "byte-fallback pieces are BYTE (6)");
        assertEquals(PieceType.UNKNOWN.wire, types.get(tokenizer.unkId()).asInt());
        assertEquals(PieceType.CONTROL.wire, types.get(tokenizer.eosId()).asInt());

        List<TensorNames> expected = TensorNames.of(config);
        JsonNode tensors = read.get("tensors");
        assertEquals(expected.size(), tensors.size());
        float[] all = HfPython.readFloats(values);
        int at = 0;
        for (int i = 0; i < expected.size(); i++) {
            TensorNames t = expected.get(i);
            JsonNode tensor = tensors.get(i);
            assertEquals(t.gguf(), tensor.get("name").asText());
            List<Integer> dims = new ArrayList<>(), arrayShape = new ArrayList<>();
            tensor.get("dims").forEach(d -> dims.add(d.asInt()));
            tensor.get("array_shape").forEach(d -> arrayShape.add(d.asInt()));
            List<Integer> shape = new ArrayList<>();
            for (int s : t.shape()) shape.add(s);
            assertEquals(shape, arrayShape, t.gguf() + ": the reader's array is [out, in]");
            assertEquals(shape.reversed(), dims, t.gguf() + ": GGUF dimensions are innermost first");
            TensorType stored = t.isVector() ? TensorType.F32 : dtype;
            assertEquals(stored.name(), tensor.get("type").asText(), t.gguf());
            assertEquals(0, tensor.get("offset").asLong() % 32, t.gguf() + " is aligned");
            float[] ours = weights.get(t);
            for (int j = 0; j < ours.length; j++) {
                float want = stored.decode(stored.encode(ours[j]));
                if (want != all[at + j]) {
                    throw new AssertionError(t.gguf() + "[" + j + "] is " + all[at + j] + ", expected " + want);
                }
            }
            at += ours.length;
        }
        assertEquals(all.length, at);
        assertTrue(config.tiedEmbeddings() != tensors.get(tensors.size() - 1).get("name").asText().equals("output.weight"),
                "an untied head is written as output.weight, a tied one is not written");
    }
}
