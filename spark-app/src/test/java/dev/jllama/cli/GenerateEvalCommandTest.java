package dev.jllama.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jllama.data.tokenizer.Tokenizer;
import dev.jllama.model.Initializer;
import dev.jllama.model.LlamaConfig;
import dev.jllama.model.LlamaModel;
import dev.jllama.model.Parameters;
import dev.jllama.model.backend.cpu.CpuBackend;
import dev.jllama.model.checkpoint.CheckpointStore;
import dev.jllama.model.checkpoint.OptimizerState;
import dev.jllama.model.checkpoint.TrainingState;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code llama generate} and {@code llama eval --tasks} on a checkpoint of a freshly initialised {@code tiny} model
 * with the bundled tokenizer: seeded sampling, greedy equivalences, and the errors bad task files give.
 */
class GenerateEvalCommandTest {
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

    private JsonNode generate(String... extra) throws Exception {
        List<String> args = new ArrayList<>(List.of("generate", "--checkpoint", run, "--prompt", "The dwarf said",
                "--max-tokens", "12", "--backend", "cpu", "--threads", "1", "--json"));
        args.addAll(List.of(extra));
        return CommandLineRun.json(args.toArray(String[]::new));
    }

    @Test
    void samplingIsReproducibleWithASeedAndTopKOneIsGreedy() throws Exception {
        JsonNode a = generate("--temperature", "1.0", "--seed", "7");
        JsonNode b = generate("--temperature", "1.0", "--seed", "7");
        JsonNode c = generate("--temperature", "1.0", "--seed", "8");
        assertEquals(a.get("ids"), b.get("ids"));
        assertEquals(a.get("text"), b.get("text"));
        assertNotEquals(a.get("ids"), c.get("ids"), "another seed draws other tokens from an untrained model");
        JsonNode greedy = generate("--temperature", "0");
        assertEquals(greedy.get("ids"), generate("--temperature", "1.5", "--top-k", "1", "--seed", "9").get("ids"));
        assertEquals(12, greedy.get("ids").size());
        assertEquals(Tokenizer.bundled().eosId(), greedy.get("prompt_ids").get(0).asInt(), "prompts start a document");
        assertTrue(greedy.get("tokens_per_s").asDouble() > 0);
    }

    private CommandLineRun evalTasks(String... lines) throws Exception {
        return evalTasksWithShots(0, lines);
    }

    private CommandLineRun evalTasksWithShots(int shots, String... lines) throws Exception {
        Path file = tmp.resolve("task.jsonl");
        Files.write(file, List.of(lines));
        return CommandLineRun.of("eval", "--checkpoint", run, "--tasks", file.toString(), "--shots",
                Integer.toString(shots), "--backend", "cpu", "--threads", "1", "--json");
    }

    private static JsonNode lastLine(CommandLineRun run) throws Exception {
        String[] lines = run.out().strip().split("\n");
        return new ObjectMapper().readTree(lines[lines.length - 1]);
    }

    @Test
    void aTaskIsScoredAndBadLinesNameTheirFileAndLine() throws Exception {
        String good = "{\"context\": \"The cat sat on the\", \"choices\": [\"mat.\", \"moon, said the dwarf.\"], \"label\": 0}";
        CommandLineRun ok = evalTasks(good, "", good);
        assertEquals(0, ok.status(), ok.err());
        JsonNode result = lastLine(ok).get("tasks").get(0);
        assertEquals(2, result.get("items").asInt());
        assertEquals(0.5, result.get("chance").asDouble());

        CommandLineRun malformed = evalTasks(good, "{\"context\": \"x\", \"choices\": [\"a\", \"b\"], \"label\": 0", good);
        assertEquals(1, malformed.status());
        assertTrue(malformed.err().contains("task.jsonl:2: not a JSON object"), malformed.err());

        CommandLineRun label = evalTasks(good, good, "{\"context\": \"x\", \"choices\": [\"a\", \"b\"], \"label\": 2}");
        assertEquals(1, label.status());
        assertTrue(label.err().contains("task.jsonl:3: \"label\" 2 is out of range [0, 2)"), label.err());

        CommandLineRun oneChoice = evalTasks("{\"context\": \"x\", \"choices\": [\"a\"], \"label\": 0}");
        assertTrue(oneChoice.err().contains("task.jsonl:1: \"choices\" must be an array of at least 2 strings"),
                oneChoice.err());
    }

    @Test
    void fewShotTasksOfEachKindAreScoredAndBadSettingsNameTheirLine() throws Exception {
        String settings = "{\"task\": {\"name\": \"birds\", \"kind\": \"mmlu\", \"description\": \"About birds.\\n\\n\","
                + " \"sampler\": \"first_n\"}}";
        String question = "{\"question\": \"What flies?\", \"choices\": [\"stone\", \"bird\", \"fish\"], \"label\": 1}";
        String exemplar = "{\"question\": \"What sings?\", \"choices\": [\"robin\", \"rock\"], \"label\": 0, \"fewshot\": true}";
        CommandLineRun mmlu = evalTasksWithShots(1, settings, question, exemplar, question);
        assertEquals(0, mmlu.status(), mmlu.err());
        JsonNode result = lastLine(mmlu);
        assertEquals(1, result.get("shots").asInt());
        assertEquals("birds", result.get("tasks").get(0).get("task").asText());
        assertEquals("mmlu", result.get("tasks").get(0).get("kind").asText());
        assertEquals(2, result.get("tasks").get(0).get("items").asInt());

        String wino = "{\"task\": {\"kind\": \"winogrande\"}}";
        String sentence = "{\"sentence\": \"The cup fell because _ was heavy.\", \"options\": [\"it\", \"the table\"], \"label\": 0}";
        CommandLineRun ratio = evalTasksWithShots(0,
                "{\"task\": {\"unconditional_context\": \"Answer:\"}}",
                "{\"context\": \"The cat sat on the\", \"choices\": [\"mat.\", \"moon.\"], \"label\": 0}");
        assertEquals(0, ratio.status(), ratio.err());
        assertTrue(lastLine(ratio).get("tasks").get(0).has("acc_ratio"));
        assertEquals(0, evalTasksWithShots(1, wino, sentence, sentence).status());

        CommandLineRun tooFew = evalTasksWithShots(2, wino, sentence, sentence);
        assertEquals(1, tooFew.status());
        assertTrue(tooFew.err().contains("task.jsonl: 2 shots need 3 items"), tooFew.err());
        CommandLineRun noBlank = evalTasks(wino, sentence.replace("_", "it"));
        assertTrue(noBlank.err().contains("task.jsonl:2: \"sentence\" must hold exactly one \"_\""), noBlank.err());
        CommandLineRun badKind = evalTasks("{\"task\": {\"kind\": \"cloze\"}}", sentence);
        assertTrue(badKind.err().contains("task.jsonl:1: unknown kind \"cloze\""), badKind.err());
        CommandLineRun late = evalTasks(question.replace("question", "context"), wino);
        assertTrue(late.err().contains("task.jsonl:2: \"task\" settings must be the first line"), late.err());
        String plain = "{\"context\": \"The cat sat on the\", \"choices\": [\"mat.\", \"moon.\"], \"label\": 0}";
        Path good = Files.writeString(tmp.resolve("good.jsonl"), plain + "\n" + plain + "\n");
        Path bad = Files.writeString(tmp.resolve("bad.jsonl"), plain + "\n{\"context\": 1}\n");
        CommandLineRun secondBad = CommandLineRun.of("eval", "--checkpoint", run, "--tasks", good.toString(),
                bad.toString(), "--backend", "cpu", "--threads", "1");
        assertTrue(secondBad.err().contains("bad.jsonl:2: \"context\" must be a string"), secondBad.err());
        assertTrue(!secondBad.out().contains("accuracy"), "every file is read before any is scored: " + secondBad.out());
        CommandLineRun negative = evalTasksWithShots(-1, sentence);
        assertEquals(2, negative.status(), negative.err());
    }

    @Test
    void aMissingCheckpointIsNamed() {
        CommandLineRun missing = CommandLineRun.of("generate", "--checkpoint", tmp.resolve("nothing").toString(),
                "--prompt", "x");
        assertEquals(1, missing.status());
        assertTrue(missing.err().contains(tmp.resolve("nothing") + " does not exist"), missing.err());
    }
}
