package dev.jllama.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.jllama.model.backend.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

/** The model FLOPs behind MFU, against counts made another way. */
class ModelFlopsTest {

    @Test
    void tinyCountedByHandFromItsShapes() {
        LlamaConfig tiny = LlamaConfig.PRESETS.get("tiny");
        // tiny: dim 64, 2 layers, 4 query heads of 16 and 2 key/value heads (kv width 32), feed-forward 192,
        // vocabulary 4096, LM head tied to the embedding.
        long wq = 64 * 64, wk = 32 * 64, wv = 32 * 64, wo = 64 * 64;
        long w1 = 192 * 64, w2 = 64 * 192, w3 = 192 * 64;
        long head = 4096 * 64;
        long matrices = 2 * (wq + wk + wv + wo + w1 + w2 + w3) + head;
        assertEquals(360_448, matrices);
        assertEquals(matrices, ModelFlops.matrixParameters(tiny));

        // Per token of a 64-token window: a multiply-add (2 FLOPs) per matrix element forward, twice that
        // backward; attention's QK^T and softmax·V, each 64 keys x 64 wide per token and layer, causal half.
        int seq = 64;
        double forwardMatmul = 2.0 * matrices;
        double forwardAttention = 2 * (2.0 * seq * 64) / 2; // two products, causal half
        double perToken = 3 * (forwardMatmul + 2 * forwardAttention);
        assertEquals(2_211_840.0, perToken, 0.0);
        assertEquals(perToken, ModelFlops.perToken(tiny, seq), 0.0);
    }

    @Test
    void matricesAreTheModelsDecayedTensorsWithTheEmbeddingCountedOnlyAsTheHead() throws Exception {
        // Independently of the formula: the model's own tensors, 2-D ones (AdamW decays exactly those), less the
        // embedding table when it is not also the LM head.
        LlamaConfig untied = new LlamaConfig(48, 3, 6, 2, 300, 128, 1e-5f, 10000f, 32, false);
        for (LlamaConfig config : new LlamaConfig[] {LlamaConfig.PRESETS.get("tiny"), untied}) {
            try (CpuBackend backend = new CpuBackend(1); LlamaModel model = new LlamaModel(config, backend)) {
                long decayed = model.parameters().all().stream().filter(Parameters.Param::decay)
                        .mapToLong(Parameters.Param::size).sum();
                long lookupOnly = config.tiedEmbeddings() ? 0 : model.parameters().tokenEmbedding.size();
                assertEquals(decayed - lookupOnly, ModelFlops.matrixParameters(config), config.toString());
            }
        }
    }

    @Test
    void utilisationIsModelFlopsPerSecondOverThePeakOfAllRanks() {
        // 2.2 MFLOP per token at 40,000 tokens/s over two ranks of 300 GFLOP/s: 88 GFLOP/s of 600.
        assertEquals(88e9 / 600e9, ModelFlops.utilisation(2.2e6, 40_000, 2 * 300e9), 1e-15);
        assertThrows(IllegalArgumentException.class, () -> ModelFlops.utilisation(1, 1, 0));
    }
}
