package dev.jllama.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** `llama`, `llama --help` and `llama COMMAND --help`: usage text and exit status. */
class HelpTest {

    @Test
    void noCommandPrintsUsageAndFails() {
        CommandLineRun run = CommandLineRun.of();
        assertEquals(2, run.status());
        assertTrue(run.out().startsWith("Usage: llama [-hV] [COMMAND]"), run.out());
        for (String command : List.of("train", "bench", "tokenize", "prepare")) assertTrue(run.out().contains(command), run.out());
    }

    @Test
    void helpListsEveryCommand() {
        for (String help : List.of("--help", "-h", "help")) {
            CommandLineRun run = CommandLineRun.of(help);
            assertEquals(0, run.status(), help);
            for (String command : List.of("train", "bench", "tokenize", "prepare", "generate", "eval", "eval-task",
                    "export", "import", "train-classifier")) {
                assertTrue(run.out().contains("\n  " + command + " "), help + " lacks " + command + ":\n" + run.out());
            }
            assertEquals("", run.err());
        }
    }

    @Test
    void everyCommandDescribesItsOptions() {
        Map<String, List<String>> options = Map.of(
                "train", List.of("--data", "--out", "--model", "--steps", "--lr", "--warmup", "--resume", "--backend", "--json"),
                "bench", List.of("--what", "matmul:", "step:", "tokenize:", "allreduce:", "scaling:", "--profile"),
                "tokenize", List.of("--tokenizer", "--text", "--input", "--train", "--vocab-size"),
                "generate", List.of("--checkpoint", "--prompt", "--max-tokens", "--temperature", "--top-k", "--top-p",
                        "--seed", "--json"),
                "eval", List.of("--checkpoint", "--data", "--tasks", "--max-windows", "--batch", "--json"),
                "eval-task", List.of("--data", "--out", "--count", "--seed"),
                "prepare", List.of("--input", "--output", "--tokenizer", "--vocab-size", "--val-fraction", "--shard-tokens",
                        "--line-dup-threshold", "--partitions", "--text-column", "--source-column", "--no-exact-dedup",
                        "--no-near-dedup", "--near-dedup-shingle", "--near-dedup-bands", "--near-dedup-rows",
                        "--near-dedup-threshold", "--decontaminate", "--decontaminate-ngram"),
                "export", List.of("--checkpoint", "--format", "--out", "--dtype", "--tokenizer"),
                "import", List.of("--hf", "--out", "--seed"),
                "train-classifier", List.of("--positive", "--negative", "--out", "--text-column", "--held-out", "--json"));
        options.forEach((command, names) -> {
            CommandLineRun run = CommandLineRun.of(command, "--help");
            assertEquals(0, run.status(), command);
            assertTrue(run.out().startsWith("Usage: llama " + command), run.out());
            for (String name : names) assertTrue(run.out().contains(name), command + " --help lacks " + name + ":\n" + run.out());
        });
    }

    @Test
    void mistakesAreUsageErrorsWithOneLineOnStandardError() {
        CommandLineRun unknown = CommandLineRun.of("fly");
        assertEquals(2, unknown.status());
        assertTrue(unknown.err().contains("unknown command 'fly'"), unknown.err());
        CommandLineRun option = CommandLineRun.of("tokenize", "--text", "a", "--colour", "red");
        assertEquals(2, option.status());
        assertEquals("llama tokenize: Unknown options: '--colour', 'red' (see llama tokenize --help)\n", option.err());
        CommandLineRun value = CommandLineRun.of("bench", "--what", "step", "--steps", "many");
        assertEquals(2, value.status());
        assertEquals("llama bench: Invalid value for option '--steps': 'many' is not an int (see llama bench --help)\n",
                value.err());
    }
}
