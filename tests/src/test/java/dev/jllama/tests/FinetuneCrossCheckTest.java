package dev.jllama.tests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jllama.data.finetune.InstructionWindows;
import dev.jllama.model.LlamaModel;
import dev.jllama.model.Lora;
import dev.jllama.model.checkpoint.CheckpointStore;
import dev.jllama.model.export.ModelWeights;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code llama finetune} against transformers: the first step's loss, computed by the whole training path (driver,
 * barrier stage, rank, trainer with its loss mask), equals {@code LlamaForCausalLM}'s loss on the exported initial
 * model for the same windows with labels -100 on the prompt and the padding.
 */
class FinetuneCrossCheckTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    @BeforeAll
    static void needsPython() {
        HfPython.assumeAvailable();
    }

    static Path examples(Path file) throws Exception {
        List<String> lines = List.of(
                "{\"instruction\": \"Summarise the sentence.\", \"input\": \"The committee met on Tuesday to discuss"
                        + " the budget for next year.\", \"output\": \"The committee discussed next year's budget.\"}",
                "{\"instruction\": \"Name three colours.\", \"output\": \"Red, green and blue.\"}",
                "{\"messages\": [{\"role\": \"system\", \"content\": \"You answer in one line.\"}, {\"role\": \"user\","
                        + " \"content\": \"What is a river?\"}, {\"role\": \"assistant\", \"content\": \"A stream of"
                        + " water flowing to the sea.\"}, {\"role\": \"user\", \"content\": \"And a lake?\"}, {\"role\":"
                        + " \"assistant\", \"content\": \"Still water surrounded by land.\"}]}",
                "{\"messages\": [{\"role\": \"user\", \"content\": \"Say hello.\"}, {\"role\": \"assistant\","
                        + " \"content\": \"Hello!\"}]}",
                "{\"prompt\": \"The capital of France is\", \"completion\": \" Paris, on the Seine.\"}",
                "{\"prompt\": \"Count to twenty, five times:\", \"completion\": \"" + String.join(" ",
                        java.util.Collections.nCopies(5, "one two three four five six seven eight nine ten eleven twelve"
                                + " thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty")) + "\"}");
        Files.write(file, lines);
        return file;
    }

    /** transformers' masked loss on every window of {@code windowsFile}; also returns the windows' batch file. */
    private JsonNode transformersLoss(Path hf, InstructionWindows windows, Path batchFile) throws Exception {
        int n = windows.windows(), seq = windows.seqLen();
        int[] tokens = new int[n * (seq + 1)];
        boolean[] mask = new boolean[n * seq];
        for (int w = 0; w < n; w++) windows.copy(w, tokens, w * (seq + 1), mask, w * seq);
        ObjectNode node = JSON.createObjectNode().put("batch", n).put("seq_len", seq);
        ArrayNode t = node.putArray("tokens"), m = node.putArray("mask");
        for (int v : tokens) t.add(v);
        for (boolean b : mask) m.add(b ? 1 : 0);
        Files.writeString(batchFile, node.toString());
        return JSON.readTree(HfPython.run("masked-loss", hf.toString(), batchFile.toString()));
    }

    @Test
    void firstStepLossEqualsTransformersLossWithThePromptMasked() throws Exception {
        ModelWeights weights = ExportFixtures.randomWeights(ExportFixtures.UNTIED, 41);
        Path init = ExportFixtures.checkpoint(weights, tmp.resolve("base"));
        Path hf = tmp.resolve("hf");
        ExportFixtures.llama("export", "--checkpoint", init.toString(), "--format", "hf", "--out", hf.toString());
        Path data = examples(tmp.resolve("examples.jsonl"));
        Path out = tmp.resolve("ft");
        // One step covers all six examples (3 x 2 windows), in a shuffled order the mean does not depend on.
        JsonNode r = ExportFixtures.llama("finetune", "--init", init.toString(), "--data", data.toString(), "--out",
                out.toString(), "--steps", "4", "--micro-batch", "3", "--accumulation", "2", "--seq-len", "96",
                "--lr", "3e-3", "--warmup", "1", "--threads", "1");
        InstructionWindows windows = InstructionWindows.read(out.resolve("data").resolve(InstructionWindows.FILE_NAME)
                .toString(), new Configuration());
        assertEquals(6, windows.windows());
        JsonNode theirs = transformersLoss(hf, windows, tmp.resolve("windows.json"));

        // Our forward on the same windows and mask, outside the training path.
        double ours;
        try (LlamaModel model = ExportFixtures.load(weights)) {
            int n = windows.windows(), seq = windows.seqLen();
            int[] tokens = new int[n * (seq + 1)];
            boolean[] mask = new boolean[n * seq];
            for (int w = 0; w < n; w++) windows.copy(w, tokens, w * (seq + 1), mask, w * seq);
            ours = model.loss(tokens, mask, n, seq) / theirs.get("counted").asDouble();
            model.backend().close();
        }
        double first = r.get("first_loss").asDouble();
        System.out.printf("finetune masked loss: first step %.8f, our forward %.8f, transformers %.8f (%d loss tokens"
                        + " of %d examples); |first - transformers| = %.3g, |forward - transformers| = %.3g; final loss"
                        + " after %d steps %.6f%n", first, ours, theirs.get("loss").asDouble(),
                theirs.get("counted").asInt(), windows.windows(), Math.abs(first - theirs.get("loss").asDouble()),
                Math.abs(ours - theirs.get("loss").asDouble()), r.get("steps").asInt(), r.get("final_loss").asDouble());
        assertEquals(theirs.get("loss").asDouble(), ours, 1e-5);
        assertEquals(theirs.get("loss").asDouble(), first, 1e-5);
        assertEquals(r.get("examples").get("loss_tokens").asLong(), theirs.get("counted").asLong());
        assertEquals(1, r.get("examples").get("truncated").asInt(), "the counting example is longer than 97 tokens");
        assertEquals(0, r.get("examples").get("dropped").asInt());
        assertTrue(r.get("final_loss").asDouble() < first - 0.05, "fine-tuning lowers the loss on its examples: " + r);
        assertEquals(r.get("parameters").asLong(), r.get("trainable_parameters").asLong());
        assertTrue(Files.exists(Path.of(java.net.URI.create(r.get("checkpoint").asText())).resolve("tokenizer.model")));

        // Packed: the same examples several to a window, attention masked per example: the same loss.
        InstructionWindows packed = InstructionWindows.prepare(List.of(data.toString()), null,
                dev.jllama.data.finetune.ChatTemplate.llama2(), dev.jllama.data.tokenizer.Tokenizer.bundled(), 96,
                false, true, new Configuration()).windows();
        double packedLoss;
        try (LlamaModel model = ExportFixtures.load(weights)) {
            int n = packed.windows(), seq = packed.seqLen();
            int[] tokens = new int[n * (seq + 1)], starts = new int[n * seq];
            boolean[] mask = new boolean[n * seq];
            for (int w = 0; w < n; w++) {
                packed.copy(w, tokens, w * (seq + 1), mask, w * seq);
                packed.copyStarts(w, starts, w * seq);
            }
            packedLoss = model.loss(tokens, mask, starts, n, seq) / theirs.get("counted").asDouble();
            model.backend().close();
        }
        JsonNode pk = ExportFixtures.llama("finetune", "--init", init.toString(), "--data", data.toString(), "--out",
                tmp.resolve("ft-packed").toString(), "--pack", "--steps", "1", "--micro-batch",
                Integer.toString(packed.windows()), "--seq-len", "96", "--lr", "3e-3", "--warmup", "1", "--threads", "1");
        System.out.printf("finetune --pack: %d windows for 6 examples; our forward %.8f, first step %.8f, transformers"
                        + " on the padded windows %.8f%n", packed.windows(), packedLoss, pk.get("first_loss").asDouble(),
                theirs.get("loss").asDouble());
        assertTrue(packed.windows() < 6, "the examples share windows");
        assertEquals(theirs.get("loss").asDouble(), packedLoss, 1e-5);
        assertEquals(theirs.get("loss").asDouble(), pk.get("first_loss").asDouble(), 1e-5);

        // Two ranks read the same six windows in the first step: the same loss, over the targets counted by both.
        JsonNode two = ExportFixtures.llama("finetune", "--init", init.toString(), "--data", data.toString(), "--out",
                tmp.resolve("ft-2").toString(), "--steps", "1", "--micro-batch", "3", "--ranks", "2", "--seq-len",
                "96", "--lr", "3e-3", "--warmup", "1", "--threads", "1");
        System.out.printf("finetune --ranks 2: first loss %.8f%n", two.get("first_loss").asDouble());
        assertEquals(theirs.get("loss").asDouble(), two.get("first_loss").asDouble(), 1e-5);
    }

    /**
     * {@code finetune --lora-rank}: only the adapters train (and have moments), the first loss is the base model's (B
     * starts at zero), and the exported run, adapters merged, gives transformers the loss our unmerged model gives.
     */
    @Test
    void loraTrainsOnlyTheAdaptersAndItsExportIsTheMergedModel() throws Exception {
        ModelWeights weights = ExportFixtures.randomWeights(ExportFixtures.UNTIED, 43);
        Path init = ExportFixtures.checkpoint(weights, tmp.resolve("base"));
        Path hfBase = tmp.resolve("hf-base");
        ExportFixtures.llama("export", "--checkpoint", init.toString(), "--format", "hf", "--out", hfBase.toString());
        Path data = examples(tmp.resolve("examples.jsonl"));
        Path out = tmp.resolve("lora");
        JsonNode r = ExportFixtures.llama("finetune", "--init", init.toString(), "--data", data.toString(), "--out",
                out.toString(), "--steps", "6", "--micro-batch", "3", "--accumulation", "2", "--seq-len", "96",
                "--lr", "1e-2", "--warmup", "1", "--threads", "1", "--lora-rank", "4", "--lora-alpha", "8",
                "--lora-targets", "q,k,v,o,gate,up,down");
        InstructionWindows windows = InstructionWindows.read(out.resolve("data").resolve(InstructionWindows.FILE_NAME)
                .toString(), new Configuration());
        JsonNode before = transformersLoss(hfBase, windows, tmp.resolve("windows.json"));
        long parameters = r.get("parameters").asLong(), trainable = r.get("trainable_parameters").asLong();
        var config = ExportFixtures.UNTIED;
        // Per layer, rank 4 times (in + out) of q, k, v, o (d+d, d+kv, d+kv, d+d) and gate, up, down (d+f each).
        long expected = (long) config.layers() * 4 * (9L * config.dim() + 2L * config.kvDim() + 3L * config.hiddenDim());
        System.out.printf("LoRA r=4 finetune: %,d trainable of %,d parameters, moments %,d bytes per rank (full: %,d);"
                        + " first loss %.8f (transformers on the base model %.8f), final %.6f%n", trainable, parameters,
                r.get("moment_bytes_per_rank").asLong(), 8 * parameters, r.get("first_loss").asDouble(),
                before.get("loss").asDouble(), r.get("final_loss").asDouble());
        assertEquals(expected, trainable);
        assertEquals(8 * trainable, r.get("moment_bytes_per_rank").asLong());
        assertEquals(before.get("loss").asDouble(), r.get("first_loss").asDouble(), 1e-5);
        assertTrue(r.get("final_loss").asDouble() < r.get("first_loss").asDouble() - 0.05, r.toString());
        // Two ranks with ZeRO-1, each half of every step's windows: the adapters' gradients all-reduced and their
        // moments sharded, the same run.
        JsonNode two = ExportFixtures.llama("finetune", "--init", init.toString(), "--data", data.toString(), "--out",
                tmp.resolve("lora-2").toString(), "--steps", "6", "--micro-batch", "3", "--ranks", "2", "--zero", "1",
                "--seq-len", "96", "--lr", "1e-2", "--warmup", "1", "--threads", "1", "--lora-rank", "4",
                "--lora-alpha", "8");
        System.out.printf("LoRA finetune --ranks 2 --zero 1: final loss %.8f (one rank %.8f)%n",
                two.get("final_loss").asDouble(), r.get("final_loss").asDouble());
        assertEquals(r.get("final_loss").asDouble(), two.get("final_loss").asDouble(), 1e-5);

        // The checkpoint holds the base weights as they were and the adapters; export merges them.
        String checkpoint = CheckpointStore.resolve(out.toString(), new Configuration());
        var stored = CheckpointStore.readWeights(checkpoint, new Configuration());
        double ours;
        try (LlamaModel model = ExportFixtures.load(weights)) {
            model.enableLora(new Lora.Spec(4, 8, Lora.TARGETS), 0);
            CheckpointStore.loadWeights(checkpoint, new Configuration(), model);
            float[] wq = new float[config.dim() * config.dim()];
            model.backend().read(model.parameters().block(0).wq().value(), 0, wq, 0, wq.length);
            assertArrayEquals(weights.tensors().get("layers.0.attention.wq.weight"), wq, "the base weights are frozen");
            assertTrue(stored.get("layers.0.attention.wq.weight").data()[0] != wq[0]
                    || stored.get("layers.0.attention.wq.weight").data()[1] != wq[1], "readWeights merges");
            int n = windows.windows(), seq = windows.seqLen();
            int[] tokens = new int[n * (seq + 1)];
            boolean[] mask = new boolean[n * seq];
            for (int w = 0; w < n; w++) windows.copy(w, tokens, w * (seq + 1), mask, w * seq);
            ours = model.loss(tokens, mask, n, seq) / before.get("counted").asDouble();
            model.backend().close();
        }
        Path hf = tmp.resolve("hf-lora");
        ExportFixtures.llama("export", "--checkpoint", out.toString(), "--format", "hf", "--out", hf.toString());
        JsonNode merged = transformersLoss(hf, windows, tmp.resolve("windows-2.json"));
        System.out.printf("LoRA export: transformers on the merged export %.8f, our unmerged adapters %.8f (|diff| %.3g)%n",
                merged.get("loss").asDouble(), ours, Math.abs(merged.get("loss").asDouble() - ours));
        assertTrue(Math.abs(merged.get("loss").asDouble() - before.get("loss").asDouble()) > 0.05, "the adapters moved");
        assertEquals(ours, merged.get("loss").asDouble(), 1e-5);
    }
}
