package dev.jllama.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jllama.data.shard.Dataset;
import dev.jllama.data.shard.Manifest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `llama prepare` through the command line: options reach the job, the result is printed and the dataset opens. */
class PrepareCommandTest {
    @TempDir
    Path tmp;

    /** Documents of two lines, separated by blank lines, all different and long enough for the default filters. */
    static Path writeCorpus(Path file, int documents) throws IOException {
        String[] animals = {"otter", "heron", "badger", "kestrel", "vole", "stoat", "wren", "hare", "newt", "lark"};
        String[] places = {"river bank", "old orchard", "hay meadow", "beech wood", "chalk down", "reed bed"};
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < documents; i++) {
            String animal = animals[i % animals.length];
            String place = places[(i / animals.length) % places.length];
            text.append("At dawn the ").append(animal).append(" crossed the ").append(place)
                    .append(" while the mist was still lying low over the grass.\n")
                    .append("Nobody saw the ").append(animal).append(" return, though the ").append(place)
                    .append(" kept its tracks until the rain came.\n\n");
        }
        Files.writeString(file, text.toString());
        return file;
    }

    @Test
    void preparesWithTheBundledTokenizerAndPrintsTheStatistics() throws IOException {
        Path corpus = writeCorpus(tmp.resolve("corpus.txt"), 40);
        Path out = tmp.resolve("dataset");
        JsonNode result = CommandLineRun.json("prepare", "--input", corpus.toString(), "--output", out.toString(),
                "--val-fraction", "0.1", "--shard-tokens", "500", "--partitions", "3", "--master", "local[2]", "--json");
        assertTrue(result.get("dataset").asText().endsWith(out.toString()), result.get("dataset").asText());
        assertEquals(40, result.get("input_documents").asInt());
        assertEquals(40, result.get("documents_kept").asInt());
        assertEquals("given", result.get("tokenizer").asText());
        assertEquals(500, result.get("shard_tokens").asInt());
        assertEquals(0.1, result.get("val_fraction").asDouble());
        Dataset d = Dataset.open(out.toString(), new Configuration());
        assertEquals(4096, d.vocabSize());
        assertEquals(result.get("train_tokens").asLong(), d.tokens("train"));
        assertEquals(40, d.manifest().split("train").documents() + d.manifest().split("val").documents());
        for (var shard : d.manifest().split("train").shards()) assertTrue(shard.tokens() <= 500, shard.toString());
    }

    @Test
    void trainsItsOwnTokenizerWithVocabSize() throws IOException {
        Path corpus = writeCorpus(tmp.resolve("corpus.txt"), 30);
        Path out = tmp.resolve("trained");
        JsonNode result = CommandLineRun.json("prepare", "--input", corpus.toString(), "--output", out.toString(),
                "--vocab-size", "320", "--master", "local[2]", "--json");
        assertEquals("trained (BPE, vocab 320)", result.get("tokenizer").asText());
        Dataset d = Dataset.open(out.toString(), new Configuration());
        assertEquals(320, d.vocabSize());
        assertTrue(Files.exists(out.resolve(Manifest.TOKENIZER_FILE)));
    }

    /** The README's annotate → filter flow: annotate once, rebuild with a threshold from the table alone. */
    @Test
    void annotateThenRebuildWithAnExpressionAndBadExpressionsAreUsageErrors() throws IOException {
        Path corpus = writeCorpus(tmp.resolve("corpus.txt"), 40);
        String ann = tmp.resolve("ann").toString();
        JsonNode first = CommandLineRun.json("prepare", "--input", corpus.toString(), "--output",
                tmp.resolve("all").toString(), "--annotations", ann, "--master", "local[2]", "--json");
        assertEquals(40, first.get("documents_kept").asInt());
        assertEquals(40, first.get("documents_annotated").asInt());
        assertTrue(first.get("annotations").asText().endsWith("ann"), first.toString());
        assertEquals(2, first.get("filter_clauses").size(), "the two default filters are clauses");
        assertTrue(Files.exists(tmp.resolve("all/histograms/words.png")));

        // First lines are 90 to 94 characters long: 11 of the 40 documents have one of 92 or more.
        JsonNode rebuilt = CommandLineRun.json("prepare", "--from-annotations", ann, "--output",
                tmp.resolve("short-lines").toString(), "--where", "max_line_length < 92 AND words > 10",
                "--master", "local[2]", "--json");
        assertEquals(0, rebuilt.get("documents_annotated").asInt(), "no signal computed");
        JsonNode clauses = rebuilt.get("filter_clauses");
        assertEquals("max_line_length < 92", clauses.get(2).get("clause").asText());
        long failing = clauses.get(2).get("documents_failing").asLong();
        assertEquals(11, failing, rebuilt.toString());
        assertEquals(0, clauses.get(3).get("documents_failing").asLong());
        assertEquals(40 - failing, rebuilt.get("documents_kept").asLong());

        for (String bad : new String[] {"no_such_signal > 1", "words + 1", "words >"}) {
            CommandLineRun run = CommandLineRun.of("prepare", "--input", corpus.toString(), "--output",
                    tmp.resolve("never").toString(), "--where", bad, "--master", "local[2]");
            assertEquals(2, run.status(), run.err());
            assertTrue(run.err().startsWith("llama prepare: --where '" + bad + "'") && run.err().strip().lines().count() == 1,
                    run.err());
        }
        assertTrue(Files.notExists(tmp.resolve("never")));
    }

    @Test
    void contradictoryOrMissingOptionsAreUsageErrors() throws IOException {
        Path corpus = writeCorpus(tmp.resolve("corpus.txt"), 2);
        String out = tmp.resolve("never").toString();
        CommandLineRun both = CommandLineRun.of("prepare", "--input", corpus.toString(), "--output", out,
                "--tokenizer", "x.model", "--vocab-size", "300");
        assertEquals(2, both.status());
        assertTrue(both.err().contains("give --tokenizer or --vocab-size, not both"), both.err());
        CommandLineRun small = CommandLineRun.of("prepare", "--input", corpus.toString(), "--output", out, "--vocab-size", "200");
        assertEquals(2, small.status());
        assertTrue(small.err().contains("--vocab-size must be at least 259, got 200"), small.err());
        CommandLineRun noOutput = CommandLineRun.of("prepare", "--input", corpus.toString());
        assertEquals(2, noOutput.status());
        assertTrue(noOutput.err().contains("Missing required option: '--output=DIR'"), noOutput.err());
        CommandLineRun badFraction = CommandLineRun.of("prepare", "--input", corpus.toString(), "--output", out,
                "--val-fraction", "1.5");
        assertEquals(2, badFraction.status());
        assertTrue(badFraction.err().contains("--val-fraction must be at least 0 and less than 1, got 1.5"), badFraction.err());
        assertTrue(Files.notExists(Path.of(out)));
    }

    @Test
    void namedSourcesDedupAndDecontaminationShowInTheJsonResult() throws IOException {
        Path a = writeCorpus(tmp.resolve("a.txt"), 20);
        Path b = tmp.resolve("b.jsonl");
        // One copy of a's first document and one unrelated record; the task file holds 13 words of a's second.
        Files.writeString(b, "{\"body\": \"At dawn the otter crossed the river bank while the mist was still lying low over"
                + " the grass.\\nNobody saw the otter return, though the river bank kept its tracks until the rain came.\"}\n"
                + "{\"body\": \"A record of its own about the lighthouse keeper, who counted ships all night long and wrote"
                + " their names into a book that nobody read.\"}\n");
        Path task = Files.writeString(tmp.resolve("task.jsonl"), "{\"context\": \"At dawn the heron crossed the river bank"
                + " while the mist was still lying\", \"choices\": [\"low\", \"high\"]}\n");
        Path out = tmp.resolve("sources");
        JsonNode result = CommandLineRun.json("prepare", "--input", "stories=" + a, "--input", "records=" + b, "--output",
                out.toString(), "--text-column", "body", "--near-dedup-threshold", "0.9", "--decontaminate", task.toString(),
                "--min-chars", "20", "--master", "local[2]", "--json");
        assertEquals(1, result.get("exact_duplicates").asInt());
        assertEquals(0, result.get("near_duplicates").asInt(), "the other stories differ in two words of about 30");
        assertEquals(1, result.get("decontaminated").asInt());
        JsonNode sources = result.get("sources");
        assertEquals(20, sources.get("stories").get("documents_in").asInt());
        assertEquals(18, sources.get("stories").get("documents_out").asInt(), "one copy, one contaminated");
        assertEquals(2, sources.get("records").get("documents_in").asInt());
        assertEquals(2, sources.get("records").get("documents_out").asInt(), "the shared copy counts for 'records' < 'stories'");
        assertEquals(result.get("train_tokens").asLong() + result.get("val_tokens").asLong(),
                sources.get("stories").get("tokens_out").asLong() + sources.get("records").get("tokens_out").asLong());
        assertTrue(Files.exists(out.resolve("report.json")) && Files.exists(out.resolve("report.png")));

        CommandLineRun noNear = CommandLineRun.of("prepare", "--input", a.toString(), "--output", tmp.resolve("x").toString(),
                "--near-dedup-threshold", "1.5");
        assertEquals(2, noNear.status());
        assertTrue(noNear.err().contains("--near-dedup-threshold must be greater than 0 and at most 1, got 1.5"), noNear.err());
        CommandLineRun tooMany = CommandLineRun.of("prepare", "--input", a.toString(), "--output", tmp.resolve("x").toString(),
                "--near-dedup-bands", "100", "--near-dedup-rows", "20");
        assertEquals(2, tooMany.status());
        assertTrue(tooMany.err().contains("bands × rows must be at most 1024, got 2000"), tooMany.err());
        assertTrue(Files.notExists(tmp.resolve("x")));
    }
}
