package dev.jllama.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jllama.data.tokenizer.Tokenizer;
import dev.jllama.model.Initializer;
import dev.jllama.model.LlamaConfig;
import dev.jllama.model.LlamaModel;
import dev.jllama.model.backend.cpu.CpuBackend;
import dev.jllama.model.checkpoint.CheckpointStore;
import dev.jllama.model.checkpoint.SafeTensors;
import dev.jllama.model.checkpoint.TrainingState;
import dev.jllama.model.optim.AdamW;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code llama export} and {@code llama import} on a run directory: the newest checkpoint of a run directory goes out
 * as Hugging Face and GGUF, comes back in bit for bit, and {@code train --resume} continues from the import.
 */
class ExportImportCommandTest {
    @TempDir
    Path tmp;

    @Test
    void runExportsImportsBackBitForBitAndTrainingResumesFromTheImport() throws Exception {
        // A run directory with checkpoints at steps 2 and 4 of differently initialised tiny models.
        Path run = tmp.resolve("run");
        LlamaConfig tiny = LlamaConfig.PRESETS.get("tiny");
        CheckpointStore store = new CheckpointStore(run.resolve("checkpoints").toString(), new Configuration());
        for (int step : new int[] {2, 4}) {
            try (CpuBackend backend = new CpuBackend(1);
                 LlamaModel model = new LlamaModel(tiny, backend);
                 AdamW optimizer = new AdamW(backend, model.parameters(), AdamW.Hyper.LLAMA)) {
                Initializer.initialize(model, step);
                store.save(new TrainingState(tiny, step, 1234, 0, Double.NaN, List.of(), null), model,
                        optimizer.download(), Tokenizer.bundled().toModelBytes(), 3);
            }
        }

        Path hf = tmp.resolve("hf");
        JsonNode exported = CommandLineRun.json("export", "--checkpoint", run.toString(), "--format", "hf",
                "--out", hf.toString(), "--json");
        assertTrue(exported.get("checkpoint").asText().endsWith("step-00000004"), "the newest checkpoint: " + exported);
        assertEquals(4, exported.get("step").asInt());
        for (String file : new String[] {"config.json", "generation_config.json", "model.safetensors", "tokenizer.model",
                "tokenizer_config.json", "special_tokens_map.json"}) {
            assertTrue(Files.exists(hf.resolve(file)), file);
        }
        try (Stream<Path> files = Files.list(hf)) {
            assertFalse(files.anyMatch(f -> f.getFileName().toString().endsWith(".crc")), "no Hadoop checksum files");
        }
        JsonNode gguf = CommandLineRun.json("export", "--checkpoint", exported.get("checkpoint").asText(),
                "--format", "gguf", "--dtype", "f16", "--out", tmp.resolve("gguf").toString(), "--json");
        assertTrue(gguf.get("bytes").asLong() > 0);
        assertTrue(Files.exists(tmp.resolve("gguf/model.gguf")));

        Path imported = tmp.resolve("imported");
        JsonNode result = CommandLineRun.json("import", "--hf", hf.toString(), "--out", imported.toString(), "--json");
        assertTrue(result.get("tokenizer").asBoolean());
        Configuration conf = new Configuration();
        String original = exported.get("checkpoint").asText();
        String copy = CheckpointStore.resolve(imported.toString(), conf);
        Map<String, SafeTensors.Entry> before = CheckpointStore.readWeights(original, conf);
        Map<String, SafeTensors.Entry> after = CheckpointStore.readWeights(copy, conf);
        assertEquals(before.keySet(), after.keySet());
        before.forEach((name, entry) -> assertArrayEquals(entry.data(), after.get(name).data(), name));
        assertArrayEquals(CheckpointStore.readTokenizer(original, conf).orElseThrow(),
                CheckpointStore.readTokenizer(copy, conf).orElseThrow());

        Path data = tmp.resolve("data");
        CommandLineRun.json("prepare", "--input", PrepareCommandTest.writeCorpus(tmp.resolve("corpus.txt"), 40).toString(),
                "--output", data.toString(), "--master", "local[2]", "--json");
        JsonNode resumed = CommandLineRun.json("train", "--data", data.toString(), "--out", imported.toString(),
                "--model", imported.resolve("model.json").toString(), "--steps", "2", "--resume", "--micro-batch", "2",
                "--seq-len", "16", "--backend", "cpu", "--threads", "1", "--eval-batches", "0", "--json");
        assertEquals(0, resumed.get("start_step").asInt(), "continues from the imported step 0");
        assertTrue(resumed.get("checkpoint").asText().endsWith("step-00000002"), resumed.toString());
    }

    @Test
    void badInputsAreOneLineErrors() throws Exception {
        assertFails(2, "Missing required option: '--checkpoint=DIR'", "export", "--format", "hf", "--out", tmp.toString());
        assertFails(2, "--format must be one of hf, gguf, got 'onnx'", "export", "--checkpoint", tmp.toString(),
                "--format", "onnx", "--out", tmp.toString());
        assertFails(2, "--dtype: unsupported dtype 'f8' (choose f32, f16 or bf16)", "export", "--checkpoint",
                tmp.toString(), "--format", "hf", "--out", tmp.toString(), "--dtype", "f8");
        Path absent = tmp.resolve("absent");
        assertFails(1, "checkpoint " + absent + " does not exist", "export", "--checkpoint", absent.toString(),
                "--format", "hf", "--out", tmp.resolve("out").toString());
        assertFails(1, "holds no complete checkpoint", "export", "--checkpoint", tmp.toString(), "--format", "gguf",
                "--out", tmp.resolve("out").toString());
        assertFails(2, "Missing required option: '--hf=DIR'", "import", "--out", tmp.toString());
        assertFails(1, "config.json does not exist", "import", "--hf", tmp.toString(), "--out", tmp.resolve("run").toString());
    }

    private static void assertFails(int status, String message, String... argv) {
        CommandLineRun run = CommandLineRun.of(argv);
        assertEquals(status, run.status(), run.err());
        assertTrue(run.err().contains(message), run.err());
        assertEquals(1, run.err().strip().lines().count(), run.err());
    }

}
