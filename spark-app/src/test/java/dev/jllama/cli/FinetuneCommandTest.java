package dev.jllama.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jllama.data.finetune.ChatTemplate;
import dev.jllama.data.tokenizer.Tokenizer;
import dev.jllama.model.Initializer;
import dev.jllama.model.LlamaConfig;
import dev.jllama.model.LlamaModel;
import dev.jllama.model.Parameters;
import dev.jllama.model.backend.cpu.CpuBackend;
import dev.jllama.model.checkpoint.CheckpointStore;
import dev.jllama.model.checkpoint.OptimizerState;
import dev.jllama.model.checkpoint.TrainingState;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code generate --chat} renders the chat template; {@code finetune}'s bad input stops it before any work. */
class FinetuneCommandTest {
    @TempDir
    Path tmp;
    private String run;

    @BeforeEach
    void writeCheckpoint() throws Exception {
        Tokenizer tokenizer = Tokenizer.bundled();
        LlamaConfig config = LlamaConfig.resolve("tiny").withVocabSize(tokenizer.vocabSize());
        run = tmp.resolve("run").toString();
        try (CpuBackend backend = new CpuBackend(1); LlamaModel model = new LlamaModel(config, backend)) {
            Initializer.initialize(model, 5);
            List<float[]> zeros = new ArrayList<>();
            for (Parameters.Param p : model.parameters().all()) zeros.add(new float[p.size()]);
            new CheckpointStore(run + "/checkpoints", new Configuration()).save(
                    new TrainingState(config, 1, 5, 0, 8.0, List.of(""), new ObjectMapper().createObjectNode()),
                    model, new OptimizerState(zeros, zeros), tokenizer.toModelBytes(), 1);
        }
    }

    private static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = array.get(i).asInt();
        return out;
    }

    @Test
    void chatRendersTheTemplateOnceOrTurnByTurnFromStandardInput() throws Exception {
        Tokenizer tok = Tokenizer.bundled();
        ChatTemplate template = ChatTemplate.llama2();
        JsonNode one = CommandLineRun.json("generate", "--checkpoint", run, "--chat", "--system", "Be brief.",
                "--prompt", "Name a colour.", "--max-tokens", "6", "--temperature", "0", "--threads", "1", "--json");
        JsonNode turn = one.get("turns").get(0);
        int[] expected = template.generationPrompt(List.of(new ChatTemplate.Message("system", "Be brief."),
                new ChatTemplate.Message("user", "Name a colour.")), tok);
        assertEquals(Arrays.toString(expected), Arrays.toString(ints(turn.get("prompt_ids"))));
        assertEquals(1, one.get("turns").size());

        InputStream stdin = System.in;
        try {
            System.setIn(new ByteArrayInputStream("Hello\nAnd again?\n\nnot read\n".getBytes(StandardCharsets.UTF_8)));
            JsonNode two = CommandLineRun.json("generate", "--checkpoint", run, "--chat", "--max-tokens", "5",
                    "--temperature", "0", "--threads", "1", "--json");
            assertEquals(2, two.get("turns").size(), "stops at the empty line");
            JsonNode first = two.get("turns").get(0), second = two.get("turns").get(1);
            // The second prompt is the first conversation turn, its reply, and the new message.
            int[] again = template.generationPrompt(List.of(new ChatTemplate.Message("user", "Hello"),
                    new ChatTemplate.Message("assistant", first.get("reply").asText()),
                    new ChatTemplate.Message("user", "And again?")), tok);
            assertEquals(Arrays.toString(again), Arrays.toString(ints(second.get("prompt_ids"))));
        } finally {
            System.setIn(stdin);
        }
    }

    @Test
    void badInputIsOneLineNamingTheFileAndWritesNothing() throws Exception {
        Path data = tmp.resolve("bad.jsonl");
        Files.writeString(data, "{\"prompt\": \"a\", \"completion\": \"b\"}\n{\"instruction\": \"x\"}\n");
        String out = tmp.resolve("ft").toString();
        CommandLineRun r = CommandLineRun.of("finetune", "--init", run, "--data", data.toString(), "--out", out);
        assertEquals(2, r.status(), r.err());
        assertEquals("llama finetune: " + data + ":2: cannot tell the format from fields [instruction] (alpaca:"
                + " instruction, input, output; prompt-completion: prompt, completion; messages: messages)",
                r.err().strip());
        assertFalse(Files.exists(Path.of(out)), "nothing written");

        r = CommandLineRun.of("finetune", "--init", tmp.resolve("nowhere").toString(), "--data", data.toString());
        assertEquals(2, r.status());
        assertTrue(r.err().strip().startsWith("llama finetune: --init " + tmp.resolve("nowhere")), r.err());
        assertEquals(1, r.err().strip().lines().count());

        r = CommandLineRun.of("finetune", "--init", run, "--data", data.toString(), "--lora-alpha", "4");
        assertEquals(2, r.status());
        assertEquals("llama finetune: --lora-alpha goes with --lora-rank", r.err().strip());

        r = CommandLineRun.of("generate", "--checkpoint", run, "--system", "x", "--prompt", "y");
        assertEquals(2, r.status());
        assertEquals("llama generate: --system goes with --chat", r.err().strip());
    }
}
