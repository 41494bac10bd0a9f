package dev.jllama.tests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jllama.model.LlamaConfig;
import dev.jllama.model.LlamaModel;
import dev.jllama.model.backend.cpu.CpuBackend;
import dev.jllama.model.checkpoint.CheckpointStore;
import dev.jllama.model.checkpoint.SafeTensors;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A random {@code LlamaForCausalLM} made and saved by transformers (grouped-query attention, untied head, a
 * non-default RoPE base), imported with {@code llama import}: our loss on a batch equals transformers' loss, for
 * a single float32 file and for bfloat16 shards; exported again, it is the file transformers wrote, bit for bit.
 */
class HfImportCrossCheckTest {
    @TempDir
    Path tmp;

    @BeforeAll
    static void needsPython() {
        HfPython.assumeAvailable();
    }

    @Test
    void importedModelGivesTransformersLoss() throws Exception {
        for (String[] variant : new String[][] {{"0", "float32"}, {"60000", "bfloat16"}}) {
            String name = variant[1] + (variant[0].equals("0") ? "-single" : "-sharded");
            Path hf = tmp.resolve("hf-" + name);
            HfPython.run("random", hf.toString(), variant[0], variant[1]);
            assertEquals(!variant[0].equals("0"), Files.exists(hf.resolve("model.safetensors.index.json")), name);
            Path run = tmp.resolve("run-" + name);
            JsonNode imported = ExportFixtures.llama("import", "--hf", hf.toString(), "--out", run.toString());
            assertEquals(false, imported.get("tokenizer").asBoolean());

            Configuration conf = new Configuration();
            String checkpoint = CheckpointStore.resolve(run.toString(), conf);
            LlamaConfig config = CheckpointStore.readState(checkpoint, conf).config();
            assertEquals(new LlamaConfig(64, 2, 4, 2, 300, 160, 1e-5f, 500000f, 64, false), config);
            assertEquals(config, LlamaConfig.resolve(run.resolve("model.json").toString()),
                    "model.json is the config train --model takes");

            int batch = 3, seqLen = 24;
            int[] windows = new int[batch * (seqLen + 1)];
            SplittableRandom random = new SplittableRandom(23);
            for (int i = 0; i < windows.length; i++) windows[i] = random.nextInt(config.vocabSize());
            double ours;
            try (LlamaModel model = new LlamaModel(config, new CpuBackend(1))) {
                CheckpointStore.loadWeights(checkpoint, conf, model);
                ours = model.loss(windows, batch, seqLen) / (batch * seqLen);
            }
            JsonNode theirs = new ObjectMapper().readTree(HfPython.run("loss", hf.toString(),
                    ExportFixtures.batchFile(tmp.resolve("windows.json"), batch, seqLen, windows).toString()));
            double difference = Math.abs(ours - theirs.get("loss").asDouble());
            System.out.printf("HF import (%s): loss ours %.7f, transformers %.7f, |difference| %.2g%n", name, ours,
                    theirs.get("loss").asDouble(), difference);
            assertTrue(ours > 1.0, "a loss far from zero, so that the comparison means something: " + ours);
            assertTrue(difference <= 1e-5, name + ": loss differs by " + difference);

            if (variant[1].equals("float32")) {
                Path back = tmp.resolve("back-" + name);
                ExportFixtures.llama("export", "--checkpoint", run.toString(), "--format", "hf", "--out", back.toString());
                Map<String, SafeTensors.Entry> original = read(hf.resolve("model.safetensors"));
                Map<String, SafeTensors.Entry> exported = read(back.resolve("model.safetensors"));
                assertEquals(original.keySet(), exported.keySet());
                original.forEach((tensor, entry) -> {
                    assertArrayEquals(entry.shape(), exported.get(tensor).shape(), tensor);
                    assertArrayEquals(entry.data(), exported.get(tensor).data(), tensor);
                });
            }
        }
    }

    private static Map<String, SafeTensors.Entry> read(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return SafeTensors.read(in, file.toString());
        }
    }
}
