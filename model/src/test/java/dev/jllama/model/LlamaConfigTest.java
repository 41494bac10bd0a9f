package dev.jllama.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jllama.model.backend.cpu.CpuBackend;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The presets hold the LLaMA paper's shapes (Table 2) and llama2.c's small ones; configs parse and validate. */
class LlamaConfigTest {

    private static void assertShape(String preset, int dim, int layers, int heads, int hidden, int vocab, int context,
                                    boolean tied) {
        LlamaConfig c = LlamaConfig.PRESETS.get(preset);
        assertEquals(List.of(dim, layers, heads, hidden, vocab, context, tied),
                List.of(c.dim(), c.layers(), c.heads(), c.hiddenDim(), c.vocabSize(), c.maxSeqLen(), c.tiedEmbeddings()),
                preset);
    }

    @Test
    void paperModelsHaveThePapersShapesAndParameterCounts() {
        // Table 2: dimension, heads, layers; Meta's code: FFN width 2/3 * 4d rounded up to 256, 32k vocabulary,
        // 2048-token context, RoPE base 10000, untied output, no grouped-query attention.
        assertShape("7B", 4096, 32, 32, 11008, 32000, 2048, false);
        assertShape("13B", 5120, 40, 40, 13824, 32000, 2048, false);
        assertShape("33B", 6656, 60, 52, 17920, 32000, 2048, false);
        assertShape("65B", 8192, 80, 64, 22016, 32000, 2048, false);
        // The parameter counts of Meta's released checkpoints.
        assertEquals(6_738_415_616L, LlamaConfig.PRESETS.get("7B").parameterCount());
        assertEquals(13_015_864_320L, LlamaConfig.PRESETS.get("13B").parameterCount());
        assertEquals(32_528_943_616L, LlamaConfig.PRESETS.get("33B").parameterCount());
        assertEquals(65_285_660_672L, LlamaConfig.PRESETS.get("65B").parameterCount());
        for (String preset : List.of("7B", "13B", "33B", "65B")) {
            LlamaConfig c = LlamaConfig.PRESETS.get(preset);
            assertEquals(c.heads(), c.kvHeads(), preset);
            assertEquals(128, c.headDim(), preset);
            assertEquals(10000f, c.ropeTheta(), preset);
        }
    }

    @Test
    void paperLearningRatesAndSmallPresetRates() {
        assertEquals(3e-4, LlamaConfig.recommendedPeakLr("7B"));
        assertEquals(3e-4, LlamaConfig.recommendedPeakLr("13B"));
        assertEquals(1.5e-4, LlamaConfig.recommendedPeakLr("33B"));
        assertEquals(1.5e-4, LlamaConfig.recommendedPeakLr("65B"));
        assertEquals(3e-3, LlamaConfig.recommendedPeakLr("tiny"));
        assertEquals(1e-3, LlamaConfig.recommendedPeakLr("15M"));
        assertEquals(6e-4, LlamaConfig.recommendedPeakLr("42M"));
        assertEquals(6e-4, LlamaConfig.recommendedPeakLr("110M"));
        assertEquals(3e-4, LlamaConfig.recommendedPeakLr("1.1B"));
        assertEquals(3e-4, LlamaConfig.recommendedPeakLr("my-config.json"));
    }

    @Test
    void smallPresetsAreLlama2cStoriesShapesAndTiny() {
        assertShape("15M", 288, 6, 6, 768, 32000, 256, true);
        assertShape("42M", 512, 8, 8, 1376, 32000, 1024, true);
        assertShape("110M", 768, 12, 12, 2048, 32000, 1024, true);
        assertShape("tiny", 64, 2, 4, 192, 4096, 128, true);
        assertEquals(2, LlamaConfig.PRESETS.get("tiny").kvHeads(), "tiny uses grouped-query attention");
        assertEquals(360_768, LlamaConfig.PRESETS.get("tiny").parameterCount());
        assertEquals(List.of("tiny", "15M", "42M", "110M", "1.1B", "7B", "13B", "33B", "65B"),
                List.copyOf(LlamaConfig.PRESETS.keySet()));
    }

    /** The GPU throughput goals' largest model: dim 2048, 16 layers, 32/8 heads, hidden 8192, vocab 32000. */
    @Test
    void oneBillionPresetIsTheGpuGoalShape() {
        assertShape("1.1B", 2048, 16, 32, 8192, 32000, 2048, false);
        LlamaConfig c = LlamaConfig.PRESETS.get("1.1B");
        assertEquals(8, c.kvHeads());
        assertEquals(64, c.headDim());
        // Two 32000 x 2048 embeddings, and per layer 2 x 2048^2 + 2 x 2048 x 512 + 3 x 2048 x 8192 + 2 x 2048.
        assertEquals(1_104_218_112L, c.parameterCount());
    }

    @Test
    void parameterCountMatchesTheAllocatedTensors() {
        for (LlamaConfig c : List.of(LlamaConfig.PRESETS.get("tiny"), LlamaConfig.PRESETS.get("tiny").withTiedEmbeddings(false))) {
            try (CpuBackend backend = new CpuBackend(1); LlamaModel model = new LlamaModel(c, backend)) {
                assertEquals(c.parameterCount(), model.parameters().count());
            }
        }
    }

    @Test
    void jsonRoundTripsAndFillsLlamaDefaults(@TempDir Path dir) throws IOException {
        LlamaConfig tiny = LlamaConfig.PRESETS.get("tiny");
        assertEquals(tiny, LlamaConfig.fromJson(tiny.toJson()));
        Path file = dir.resolve("model.json");
        Files.writeString(file, "{\"dim\": 256, \"layers\": 3, \"heads\": 4}");
        LlamaConfig c = LlamaConfig.resolve(file.toString());
        assertEquals(new LlamaConfig(256, 3, 4, 4, 32000, 768, 1e-5f, 10000f, 2048, false), c);
        assertEquals(LlamaConfig.PRESETS.get("15M"), LlamaConfig.resolve("15M"));
    }

    @Test
    void everyFieldIsCheckedAtItsBoundary() {
        LlamaConfig smallest = new LlamaConfig(2, 1, 1, 1, 1, 1, Float.MIN_VALUE, Float.MIN_VALUE, 1, false);
        assertEquals(2, smallest.headDim());
        String[] fields = {"dim", "layers", "heads", "kv_heads", "vocab_size", "hidden_dim", "norm_eps", "rope_theta",
                "max_seq_len"};
        for (String field : fields) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new LlamaConfig(
                    field.equals("dim") ? 0 : 2, field.equals("layers") ? 0 : 1, field.equals("heads") ? 0 : 1,
                    field.equals("kv_heads") ? 0 : 1, field.equals("vocab_size") ? 0 : 1, field.equals("hidden_dim") ? 0 : 1,
                    field.equals("norm_eps") ? 0f : 1e-5f, field.equals("rope_theta") ? 0f : 1e4f,
                    field.equals("max_seq_len") ? 0 : 1, false), field);
            assertTrue(e.getMessage().startsWith("invalid model config: " + field), e.getMessage());
        }
    }

    @Test
    void feedForwardWidthRoundsUpToTheMultiple() {
        assertEquals(256, LlamaConfig.llamaHiddenDim(96, 64), "2/3 of 4 x 96 = 256 is already a multiple of 64");
        assertEquals(320, LlamaConfig.llamaHiddenDim(97, 64), "258 rounds up to 320");
        assertEquals(LlamaConfig.llamaHiddenDim(512, 32), LlamaConfig.of(512, 8, 8, 8, 100, 64, 32).hiddenDim());
    }

    @Test
    void invalidConfigsNameTheField(@TempDir Path dir) throws IOException {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new LlamaConfig(100, 2, 3, 3, 10, 10, 1e-5f, 1e4f, 8, false));
        assertTrue(e.getMessage().contains("heads"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new LlamaConfig(96, 2, 4, 3, 10, 10, 1e-5f, 1e4f, 8, false));
        assertTrue(e.getMessage().contains("kv_heads"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new LlamaConfig(12, 2, 4, 4, 10, 10, 1e-5f, 1e4f, 8, false));
        assertTrue(e.getMessage().contains("head dimension"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> LlamaConfig.resolve("no-such-preset"));
        assertTrue(e.getMessage().contains("no-such-preset") && e.getMessage().contains("tiny"), e.getMessage());
        Path bad = dir.resolve("bad.json");
        Files.writeString(bad, new ObjectMapper().writeValueAsString(Map.of("dim", 64, "heads", "four", "layers", 2)));
        e = assertThrows(IllegalArgumentException.class, () -> LlamaConfig.resolve(bad.toString()));
        assertTrue(e.getMessage().contains("bad.json") && e.getMessage().contains("'heads'"), e.getMessage());
        Files.writeString(bad, "{\"layers\": 2, \"heads\": 4}");
        e = assertThrows(IllegalArgumentException.class, () -> LlamaConfig.resolve(bad.toString()));
        assertTrue(e.getMessage().contains("missing field 'dim'"), e.getMessage());
    }
}
