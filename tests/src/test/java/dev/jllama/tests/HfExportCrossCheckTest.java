package dev.jllama.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jllama.data.tokenizer.Tokenizer;
import dev.jllama.model.LlamaConfig;
import dev.jllama.model.LlamaModel;
import dev.jllama.model.export.ModelWeights;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code llama export --format hf} read by transformers itself: {@code LlamaForCausalLM.from_pretrained} gives our
 * logits, and {@code AutoTokenizer.from_pretrained} our tokenizer's ids.
 */
class HfExportCrossCheckTest {
    @TempDir
    Path tmp;

    @BeforeAll
    static void needsPython() {
        HfPython.assumeAvailable();
    }

    @Test
    void transformersComputesOurLogits() throws Exception {
        int[] text = Tokenizer.bundled().encode(ExportFixtures.TEXT);
        int batch = 2, seqLen = 40;
        assertTrue(text.length >= batch * seqLen, "sample text has " + text.length + " tokens");
        int[] tokens = Arrays.copyOf(text, batch * seqLen);
        for (LlamaConfig config : List.of(ExportFixtures.TIED, ExportFixtures.UNTIED)) {
            String name = config.tiedEmbeddings() ? "tied" : "untied";
            ModelWeights weights = ExportFixtures.randomWeights(config, 17);
            Path run = ExportFixtures.checkpoint(weights, tmp.resolve("run-" + name));
            Path hf = tmp.resolve("hf-" + name);
            ExportFixtures.llama("export", "--checkpoint", run.toString(), "--format", "hf", "--out", hf.toString());

            float[] ours;
            try (LlamaModel model = ExportFixtures.load(weights)) {
                ours = model.logits(tokens, batch, seqLen);
            }
            Path logitsFile = tmp.resolve("logits-" + name + ".bin");
            HfPython.run("logits", hf.toString(),
                    ExportFixtures.batchFile(tmp.resolve("batch.json"), batch, seqLen, tokens).toString(),
                    logitsFile.toString());
            float[] theirs = HfPython.readFloats(logitsFile);
            assertEquals(ours.length, theirs.length);
            double maxDiff = 0, maxAbs = 0, spread = 0;
            for (int i = 0; i < ours.length; i++) {
                maxDiff = Math.max(maxDiff, Math.abs((double) ours[i] - theirs[i]));
                maxAbs = Math.max(maxAbs, Math.abs(theirs[i]));
            }
            for (int i = 1; i < ours.length; i++) spread += Math.abs(theirs[i] - theirs[i - 1]);
            double relative = maxDiff / maxAbs;
            System.out.printf("HF export (%s): logits max |ours - transformers| = %.3g, relative to max |logit| %.3g: %.3g%n",
                    name, maxDiff, maxAbs, relative);
            assertTrue(spread / ours.length > 0.1, "the logits vary, so the comparison means something");
            assertTrue(relative <= 1e-4, name + ": relative logits difference " + relative);
        }
    }

    /** Greedy decoding with our key/value cache picks the tokens transformers' own {@code generate} picks. */
    @Test
    void greedyGenerationEqualsTransformersGenerate() throws Exception {
        ModelWeights weights = ExportFixtures.randomWeights(ExportFixtures.UNTIED, 29);
        Path run = ExportFixtures.checkpoint(weights, tmp.resolve("run-generate"));
        Path hf = tmp.resolve("hf-generate");
        ExportFixtures.llama("export", "--checkpoint", run.toString(), "--format", "hf", "--out", hf.toString());
        int newTokens = 48;
        JsonNode ours = ExportFixtures.llama("generate", "--checkpoint", run.toString(), "--prompt",
                "The committee met on Tuesday", "--temperature", "0", "--max-tokens", Integer.toString(newTokens));
        Path prompt = tmp.resolve("prompt.json");
        Files.writeString(prompt, ours.get("prompt_ids").toString());
        JsonNode theirs = new ObjectMapper().readTree(HfPython.run("generate", hf.toString(), prompt.toString(),
                Integer.toString(newTokens)));
        System.out.printf("greedy generation: %d tokens after a %d-token prompt, ours %s, transformers %s%n",
                ours.get("ids").size(), ours.get("prompt_ids").size(), ours.get("ids"), theirs);
        assertTrue(ours.get("ids").size() > 8, "a continuation long enough to mean something: " + ours);
        assertEquals(theirs.toString(), ours.get("ids").toString());
    }

    @Test
    void transformersTokenizerGivesOurIds() throws Exception {
        Path run = ExportFixtures.checkpoint(ExportFixtures.randomWeights(ExportFixtures.TIED, 3), tmp.resolve("run"));
        Path hf = tmp.resolve("hf");
        ExportFixtures.llama("export", "--checkpoint", run.toString(), "--format", "hf", "--out", hf.toString());
        List<String> texts = List.of(
                ExportFixtures.TEXT,
                "Hello world",
                "Digits split one by one: 1234567890 and 3.14159.",
                "Caf\u00e9 na\u00efve \u2014 \u201cquoted\u201d, \u65e5\u672c\u8a9e and an emoji \ud83d\ude00 fall back to bytes",
                "line one\nline two\tafter a tab",
                "<s> and </s> written in text stay text");
        Path textsFile = tmp.resolve("texts.json");
        Files.writeString(textsFile, new ObjectMapper().writeValueAsString(texts));
        JsonNode theirs = new ObjectMapper().readTree(HfPython.run("tokenize", hf.toString(), textsFile.toString()));
        Tokenizer tokenizer = Tokenizer.bundled();
        for (int i = 0; i < texts.size(); i++) {
            int[] expected = tokenizer.encode(texts.get(i));
            int[] actual = new int[theirs.get(i).size()];
            for (int j = 0; j < actual.length; j++) actual[j] = theirs.get(i).get(j).asInt();
            assertEquals(Arrays.toString(expected), Arrays.toString(actual), "ids of: " + texts.get(i));
        }
    }
}
