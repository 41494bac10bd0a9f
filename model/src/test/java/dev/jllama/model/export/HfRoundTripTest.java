package dev.jllama.model.export;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jllama.model.LlamaConfig;
import dev.jllama.model.checkpoint.CheckpointStore;
import dev.jllama.model.checkpoint.OptimizerState;
import dev.jllama.model.checkpoint.SafeTensors;
import dev.jllama.model.checkpoint.TensorType;
import dev.jllama.model.checkpoint.TrainingState;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Export to a Hugging Face directory and import back: bit for bit in f32, and every bad input named. */
class HfRoundTripTest {
    static final LlamaConfig UNTIED = new LlamaConfig(32, 2, 4, 2, 50, 48, 1e-5f, 500000f, 16, false);
    static final LlamaConfig TIED = UNTIED.withTiedEmbeddings(true);

    @TempDir
    Path tmp;

    private final FileSystem fs;

    HfRoundTripTest() throws IOException {
        fs = FileSystem.getLocal(new Configuration()).getRaw();
    }

    static ModelWeights randomWeights(LlamaConfig config, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        Map<String, float[]> tensors = new LinkedHashMap<>();
        for (TensorNames t : TensorNames.of(config)) {
            float[] values = new float[t.size()];
            for (int i = 0; i < values.length; i++) {
                values[i] = (float) (t.isVector() ? 1 + 0.2 * random.nextGaussian() : 0.3 * random.nextGaussian());
            }
            tensors.put(t.ours(), values);
        }
        return new ModelWeights(config, tensors);
    }

    private org.apache.hadoop.fs.Path path(Path p) {
        return new org.apache.hadoop.fs.Path(p.toUri());
    }

    private Path export(ModelWeights model, TensorType dtype) throws IOException {
        Path dir = tmp.resolve("hf-" + dtype + "-" + model.config().tiedEmbeddings());
        HfExport.write(fs, path(dir), model, null, dtype);
        return dir;
    }

    private static void assertSameWeights(ModelWeights expected, ModelWeights actual) {
        assertEquals(expected.config(), actual.config());
        assertEquals(expected.tensors().keySet(), actual.tensors().keySet());
        expected.tensors().forEach((name, values) -> assertArrayEquals(values, actual.tensors().get(name), name));
    }

    @Test
    void f32ExportImportsBackBitForBit() throws IOException {
        for (LlamaConfig config : List.of(UNTIED, TIED)) {
            ModelWeights model = randomWeights(config, 1);
            Path dir = export(model, TensorType.F32);
            assertEquals(!config.tiedEmbeddings(), readTensors(dir.resolve("model.safetensors")).containsKey("lm_head.weight"));
            HfImport.Imported imported = HfImport.read(fs, path(dir));
            assertSameWeights(model, imported.weights());
            assertEquals(null, imported.tokenizerModel());
        }
    }

    @Test
    void exportedQueryAndKeyRowsAreInHuggingFaceOrder() throws IOException {
        ModelWeights model = randomWeights(UNTIED, 2);
        Map<String, SafeTensors.Entry> hf = readTensors(export(model, TensorType.F32).resolve("model.safetensors"));
        float[] k = model.tensors().get("layers.1.attention.wk.weight");
        assertArrayEquals(RopeLayout.interleavedToHalves(k, UNTIED.kvHeads(), UNTIED.headDim(), UNTIED.dim()),
                hf.get("model.layers.1.self_attn.k_proj.weight").data());
        assertArrayEquals(model.tensors().get("layers.1.attention.wv.weight"),
                hf.get("model.layers.1.self_attn.v_proj.weight").data(), "values keep their order");
        assertArrayEquals(model.tensors().get("layers.0.feed_forward.w1.weight"), hf.get("model.layers.0.mlp.gate_proj.weight").data());
        assertArrayEquals(model.tensors().get("layers.0.feed_forward.w2.weight"), hf.get("model.layers.0.mlp.down_proj.weight").data());
    }

    @Test
    void halfPrecisionExportsImportAsTheRoundedValues() throws IOException {
        ModelWeights model = randomWeights(UNTIED, 3);
        for (TensorType dtype : List.of(TensorType.F16, TensorType.BF16)) {
            ModelWeights imported = HfImport.read(fs, path(export(model, dtype))).weights();
            model.tensors().forEach((name, values) -> {
                float[] rounded = new float[values.length];
                for (int i = 0; i < values.length; i++) rounded[i] = dtype.decode(dtype.encode(values[i]));
                assertArrayEquals(rounded, imported.tensors().get(name), dtype + " " + name);
            });
            String config = Files.readString(export(model, dtype).resolve("config.json"));
            assertTrue(config.contains("\"torch_dtype\" : \"" + dtype.torchName + "\""), config);
        }
    }

    @Test
    void shardsListedByAnIndexImportLikeOneFile() throws IOException {
        ModelWeights model = randomWeights(UNTIED, 4);
        Path dir = export(model, TensorType.F32);
        Map<String, SafeTensors.Entry> all = readTensors(dir.resolve("model.safetensors"));
        Files.delete(dir.resolve("model.safetensors"));
        List<SafeTensors.Entry> first = new ArrayList<>(), second = new ArrayList<>();
        ObjectNode index = new ObjectMapper().createObjectNode();
        ObjectNode map = index.putObject("weight_map");
        for (SafeTensors.Entry e : all.values()) {
            boolean early = e.name().startsWith("model.layers.0.") || e.name().startsWith("model.embed");
            (early ? first : second).add(e);
            map.put(e.name(), early ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors");
        }
        writeTensors(dir.resolve("model-00001-of-00002.safetensors"), first);
        writeTensors(dir.resolve("model-00002-of-00002.safetensors"), second);
        Files.writeString(dir.resolve("model.safetensors.index.json"), index.toString());
        assertSameWeights(model, HfImport.read(fs, path(dir)).weights());

        Files.delete(dir.resolve("model-00002-of-00002.safetensors"));
        IOException missing = assertThrows(IOException.class, () -> HfImport.read(fs, path(dir)));
        assertTrue(missing.getMessage().contains("model-00002-of-00002.safetensors does not exist"), missing.getMessage());
    }

    @Test
    void importedCheckpointHoldsTheWeightsZeroMomentsAndStepZero() throws IOException {
        ModelWeights model = randomWeights(UNTIED, 5);
        HfImport.Imported imported = new HfImport.Imported(model, new byte[] {1, 2, 3});
        Configuration conf = new Configuration();
        String runDir = tmp.resolve("run").toString();
        String checkpoint = HfImport.writeCheckpoint(imported, runDir, conf, 1234, "hf-dir");
        assertEquals(checkpoint, CheckpointStore.resolve(runDir, conf), "a run directory resolves to its checkpoint");
        assertEquals(checkpoint, CheckpointStore.resolve(checkpoint, conf));
        TrainingState state = CheckpointStore.readState(checkpoint, conf);
        assertEquals(UNTIED, state.config());
        assertEquals(0, state.step());
        assertEquals(1234, state.seed());
        assertEquals(1, state.dataPositions().size());
        assertEquals(null, state.dataPositions().get(0), "the data stream starts from the beginning");
        assertSameWeights(model, ModelWeights.of(UNTIED, CheckpointStore.readWeights(checkpoint, conf), checkpoint));
        assertArrayEquals(new byte[] {1, 2, 3}, CheckpointStore.readTokenizer(checkpoint, conf).orElseThrow());
        var params = new dev.jllama.model.Parameters(UNTIED, new dev.jllama.model.backend.cpu.CpuBackend(1));
        OptimizerState moments = CheckpointStore.readMoments(checkpoint, conf, params);
        for (float[] m : moments.firstMoments()) for (float v : m) assertEquals(0f, v);
        for (float[] m : moments.secondMoments()) for (float v : m) assertEquals(0f, v);
        IOException again = assertThrows(IOException.class, () -> HfImport.writeCheckpoint(imported, runDir, conf, 1, "x"));
        assertTrue(again.getMessage().contains("already holds checkpoints"), again.getMessage());
    }

    @Test
    void resolveNamesWhatItLookedFor() throws IOException {
        Configuration conf = new Configuration();
        IOException absent = assertThrows(IOException.class,
                () -> CheckpointStore.resolve(tmp.resolve("nothing").toString(), conf));
        assertTrue(absent.getMessage().contains("does not exist"), absent.getMessage());
        IOException empty = assertThrows(IOException.class, () -> CheckpointStore.resolve(tmp.toString(), conf));
        assertTrue(empty.getMessage().contains("holds no complete checkpoint"), empty.getMessage());
    }

    @Test
    void unsupportedConfigurationsAreRefusedNamingTheField() throws IOException {
        assertConfigRefused(c -> c.putObject("rope_scaling").put("rope_type", "linear").put("factor", 2.0), "'rope_scaling'");
        assertConfigRefused(c -> c.putObject("rope_parameters").put("rope_type", "yarn"), "'rope_parameters.rope_type'");
        assertConfigRefused(c -> c.put("attention_bias", true), "'attention_bias'");
        assertConfigRefused(c -> c.put("mlp_bias", true), "'mlp_bias'");
        assertConfigRefused(c -> c.put("hidden_act", "gelu"), "'hidden_act' is \"gelu\"");
        assertConfigRefused(c -> c.put("head_dim", 16), "'head_dim'");
        assertConfigRefused(c -> c.put("model_type", "mistral").putArray("architectures").add("MistralForCausalLM"),
                "'model_type' is 'mistral'");
        assertConfigRefused(c -> c.remove("hidden_size"), "missing field 'hidden_size'");
        assertConfigRefused(c -> c.put("num_key_value_heads", 3), "kv_heads");
    }

    private void assertConfigRefused(Consumer<ObjectNode> damage, String expected) throws IOException {
        Path dir = export(randomWeights(UNTIED, 6), TensorType.F32);
        ObjectNode config = (ObjectNode) new ObjectMapper().readTree(dir.resolve("config.json").toFile());
        damage.accept(config);
        Files.writeString(dir.resolve("config.json"), config.toString());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HfImport.read(fs, path(dir)));
        assertTrue(e.getMessage().contains("config.json") && e.getMessage().contains(expected), e.getMessage());
    }

    @Test
    void missingFilesAndTensorsAreNamed() throws IOException {
        IOException noDir = assertThrows(IOException.class, () -> HfImport.read(fs, path(tmp.resolve("absent"))));
        assertTrue(noDir.getMessage().contains("does not exist"), noDir.getMessage());

        Path dir = export(randomWeights(UNTIED, 7), TensorType.F32);
        Map<String, SafeTensors.Entry> all = readTensors(dir.resolve("model.safetensors"));
        List<SafeTensors.Entry> withBias = new ArrayList<>(all.values());
        withBias.add(new SafeTensors.Entry("model.layers.0.self_attn.q_proj.bias", new int[] {32}, new float[32]));
        writeTensors(dir.resolve("model.safetensors"), withBias);
        IOException bias = assertThrows(IOException.class, () -> HfImport.read(fs, path(dir)));
        assertTrue(bias.getMessage().contains("model.layers.0.self_attn.q_proj.bias"), bias.getMessage());

        List<SafeTensors.Entry> withoutHead = new ArrayList<>(all.values());
        withoutHead.removeIf(e -> e.name().equals("lm_head.weight"));
        writeTensors(dir.resolve("model.safetensors"), withoutHead);
        IOException head = assertThrows(IOException.class, () -> HfImport.read(fs, path(dir)));
        assertTrue(head.getMessage().contains("missing tensor 'lm_head.weight'"), head.getMessage());

        Files.delete(dir.resolve("model.safetensors"));
        IOException noWeights = assertThrows(IOException.class, () -> HfImport.read(fs, path(dir)));
        assertTrue(noWeights.getMessage().contains("has neither model.safetensors nor model.safetensors.index.json"),
                noWeights.getMessage());

        Files.delete(dir.resolve("config.json"));
        IOException noConfig = assertThrows(IOException.class, () -> HfImport.read(fs, path(dir)));
        assertTrue(noConfig.getMessage().contains("config.json does not exist"), noConfig.getMessage());
    }

    static Map<String, SafeTensors.Entry> readTensors(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return SafeTensors.read(in, file.toString());
        }
    }

    static void writeTensors(Path file, List<SafeTensors.Entry> entries) throws IOException {
        try (OutputStream out = Files.newOutputStream(file)) {
            SafeTensors.write(out, entries, Map.of("format", "pt"));
        }
    }
}
