package dev.jllama.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A run directory through the command line: the recorded configuration, --config files, --dry-run, and the rules
 * that keep a run from being overwritten or resumed with another batch by accident.
 */
class TrainRunDirectoryTest {
    @TempDir
    static Path tmp;
    static String data;

    @BeforeAll
    static void prepare() throws Exception {
        data = tmp.resolve("data").toString();
        CommandLineRun.json("prepare", "--input", PrepareCommandTest.writeCorpus(tmp.resolve("corpus.txt"), 40).toString(),
                "--output", data, "--master", "local[2]", "--json");
    }

    private static String[] train(String out, String... more) {
        List<String> argv = new ArrayList<>(List.of("train", "--data", data, "--out", out, "--backend", "cpu",
                "--threads", "1", "--eval-batches", "0", "--checkpoint-every", "0"));
        argv.addAll(List.of(more));
        return argv.toArray(String[]::new);
    }

    @Test
    void configFileValuesYieldToTheCommandLineAndDryRunStartsNothing() throws Exception {
        Path yaml = tmp.resolve("train.yaml");
        Files.writeString(yaml, "model: tiny\nsteps: 7\nmicro-batch: 3\nseq-len: 16\nconf:\n  spark.ui.enabled: false\n");
        String out = tmp.resolve("dry").toString();
        JsonNode result = CommandLineRun.json(train(out, "--config", yaml.toString(), "--steps", "5", "--dry-run", "--json"));
        JsonNode options = result.get("config").get("options");
        assertEquals(5, options.get("steps").asInt(), "the command line wins");
        assertEquals(3, options.get("micro-batch").asInt(), "the file's value");
        assertEquals(48, options.get("batch-tokens").asLong(), "resolved: one micro-batch of 3 x 16 on one rank");
        assertEquals("spark.ui.enabled=false", options.get("conf").get(0).asText());
        assertFalse(Files.exists(Path.of(out)), "a dry run writes nothing");

        Files.writeString(yaml, "stepz: 7\n");
        CommandLineRun unknown = CommandLineRun.of(train(out, "--config", yaml.toString()));
        assertEquals(2, unknown.status());
        assertTrue(unknown.err().contains(yaml + ": 'stepz' is not an option of llama train"), unknown.err());
        Files.writeString(yaml, "steps: 0\n");
        CommandLineRun range = CommandLineRun.of(train(out, "--config", yaml.toString()));
        assertEquals(2, range.status());
        assertTrue(range.err().contains("--steps must be at least 1, got 0"), range.err());
    }

    @Test
    void aRunIsNeitherOverwrittenNorResumedWithAnotherBatchByAccident() throws Exception {
        String out = tmp.resolve("run").toString();
        JsonNode first = CommandLineRun.json(train(out, "--steps", "2", "--micro-batch", "2", "--seq-len", "16",
                "--batch-tokens", "64", "--json"));
        assertEquals(64, first.get("tokens_per_step").asLong());
        JsonNode recorded = new ObjectMapper().readTree(Path.of(out, "config.json").toFile());
        assertEquals("jllama-run-config", recorded.get("format").asText());
        assertEquals(64, recorded.get("options").get("batch-tokens").asLong());

        CommandLineRun again = CommandLineRun.of(train(out, "--steps", "2"));
        assertEquals(2, again.status());
        assertTrue(again.err().contains("already holds checkpoints (newest step-00000002): add --resume"), again.err());

        // Only the new step count given: the batch, sequence length and micro-batch come from config.json.
        JsonNode resumed = CommandLineRun.json("train", "--out", out, "--resume", "--steps", "3", "--backend", "cpu",
                "--threads", "1", "--json");
        assertEquals(2, resumed.get("start_step").asInt());
        assertEquals(64, resumed.get("tokens_per_step").asLong(), "the recorded batch, not one micro-batch");

        CommandLineRun changed = CommandLineRun.of(train(out, "--resume", "--steps", "4", "--batch-tokens", "32"));
        assertEquals(2, changed.status());
        assertTrue(changed.err().contains("--batch-tokens 32 differs from the recorded run's 64")
                && changed.err().contains("--allow-change batch-tokens"), changed.err());
        JsonNode allowed = CommandLineRun.json(train(out, "--resume", "--steps", "4", "--batch-tokens", "32",
                "--allow-change", "batch-tokens", "--json"));
        assertEquals(32, allowed.get("tokens_per_step").asLong());

        JsonNode over = CommandLineRun.json(train(out, "--steps", "1", "--overwrite", "--json"));
        assertEquals(0, over.get("start_step").asInt());
    }
}
