package dev.jllama.tests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jllama.cli.Main;
import dev.jllama.data.prepare.BundledCorpus;
import dev.jllama.data.prepare.DocumentScorer;
import dev.jllama.scoring.DocumentScorers;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.zip.GZIPInputStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code prepare --classifier MODEL --perplexity-model RUN}: both model-based signals computed on the executors land
 * in the annotations table with the values the scorers give the same texts in this JVM, the perplexity buckets are
 * the corpus's tertiles, and {@code --min-quality} keeps exactly the documents scoring at least its threshold.
 */
class PrepareModelSignalsTest {
    static final int DOCUMENTS = 120, SENTENCES = 3;

    @TempDir
    Path tmp;

    @Test
    void classifierAndPerplexityScoresReachTheAnnotationsAndTheFilter() throws Exception {
        List<String> sentences = corpusSentences(2 * DOCUMENTS * SENTENCES);
        Random random = new Random(3);
        List<String> positive = new ArrayList<>(), negative = new ArrayList<>();
        for (int d = 0; d < 2 * DOCUMENTS; d++) {
            String text = String.join(" ", sentences.subList(d * SENTENCES, (d + 1) * SENTENCES));
            if (d % 2 == 0) {
                positive.add(text);
            } else {
                List<String> words = new ArrayList<>(Arrays.asList(text.split(" ")));
                Collections.shuffle(words, random);
                negative.add(String.join(" ", words));
            }
        }
        Path pos = write(tmp.resolve("positive.txt"), positive), neg = write(tmp.resolve("negative.txt"), negative);
        Path model = tmp.resolve("quality.json");
        runJson("train-classifier", "--positive", pos.toString(), "--negative", neg.toString(), "--out",
                model.toString(), "--master", "local[2]", "--json");
        Path run = ExportFixtures.checkpoint(ExportFixtures.randomWeights(ExportFixtures.TIED, 5), tmp.resolve("run"));

        Path annotations = tmp.resolve("annotations");
        JsonNode r = runJson("prepare", "--input", "pos=" + pos, "--input", "neg=" + neg, "--output",
                tmp.resolve("ds").toString(), "--annotations", annotations.toString(), "--classifier", model.toString(),
                "--perplexity-model", run.toString(), "--perplexity-window", "32", "--min-quality", "0.5",
                "--min-chars", "0", "--max-symbol-ratio", "1", "--no-near-dedup", "--val-fraction", "0",
                "--master", "local[2]", "--json");

        List<String> all = new ArrayList<>(positive);
        all.addAll(negative);
        double[] quality = inThisJvm(DocumentScorers.classifier(model.toString(), new Configuration()), all);
        double[] perplexity = inThisJvm(DocumentScorers.perplexity(run.toString(), 32,
                DocumentScorers.DEFAULT_BATCH_TOKENS, 1, new Configuration()), all);
        List<Row> rows;
        try (SparkSession spark = SparkSession.builder().master("local[1]").appName("read-annotations")
                .config("spark.ui.enabled", "false").getOrCreate()) {
            rows = spark.read().parquet(annotations.toString())
                    .select("quality_score", "perplexity", "perplexity_bucket").collectAsList();
        }
        assertEquals(all.size(), rows.size(), "one row per document");
        double[] tableQuality = rows.stream().mapToDouble(row -> row.getDouble(0)).sorted().toArray();
        double[] tablePerplexity = rows.stream().mapToDouble(row -> row.getDouble(1)).sorted().toArray();
        Arrays.sort(quality);
        Arrays.sort(perplexity);
        assertArrayEquals(quality, tableQuality, 1e-12, "quality_score as the scorer gives it here");
        for (int i = 0; i < perplexity.length; i++) {
            // float32 passes batched differently (other documents in the pass, other threads): 1e-5 relative
            assertEquals(perplexity[i], tablePerplexity[i], 1e-5 * perplexity[i], "perplexity " + i);
        }

        // Buckets: tertiles, head the lowest perplexity.
        List<String> order = List.of("head", "middle", "tail");
        double[] lowest = {Double.MAX_VALUE, Double.MAX_VALUE, Double.MAX_VALUE}, highest = new double[3];
        int[] counts = new int[3];
        for (Row row : rows) {
            int b = order.indexOf(row.getString(2));
            assertTrue(b >= 0, row.toString());
            counts[b]++;
            lowest[b] = Math.min(lowest[b], row.getDouble(1));
            highest[b] = Math.max(highest[b], row.getDouble(1));
        }
        for (int b = 0; b < 3; b++) assertTrue(Math.abs(counts[b] - all.size() / 3.0) <= 1, Arrays.toString(counts));
        assertTrue(highest[0] <= lowest[1] && highest[1] <= lowest[2], "tertiles in order");

        long good = Arrays.stream(tableQuality).filter(q -> q >= 0.5).count();
        assertTrue(good > DOCUMENTS / 2 && good < 2 * DOCUMENTS, "the classifier separates the two: " + good);
        assertEquals(good, r.get("train_documents").asLong(), "--min-quality keeps those scoring at least 0.5");
    }

    @Test
    void aMissingModelIsAUsageErrorBeforeAnyWork() throws Exception {
        Path in = Files.writeString(tmp.resolve("in.txt"), "a document long enough to keep\n");
        for (String[] bad : List.of(new String[] {"--classifier", tmp.resolve("nope.json").toString()},
                new String[] {"--perplexity-model", tmp.resolve("no-run").toString()},
                new String[] {"--perplexity-window", "8"})) {
            List<String> argv = new ArrayList<>(List.of("prepare", "--input", in.toString(), "--output",
                    tmp.resolve("never").toString()));
            argv.addAll(List.of(bad));
            ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
            int status = Main.run(argv.toArray(String[]::new), new PrintStream(out, true, StandardCharsets.UTF_8),
                    new PrintStream(err, true, StandardCharsets.UTF_8));
            String message = err.toString(StandardCharsets.UTF_8).strip();
            assertEquals(2, status, message);
            assertTrue(message.startsWith("llama prepare: " + bad[0]) && !message.contains("\n"), message);
            assertTrue(!Files.exists(tmp.resolve("never")), "nothing written");
        }
    }

    private static double[] inThisJvm(DocumentScorer scorer, List<String> texts) throws IOException {
        try (DocumentScorer.Scoring scoring = scorer.open(new Configuration())) {
            return scoring.score(texts);
        }
    }

    private static Path write(Path file, List<String> docs) throws IOException {
        return Files.writeString(file, String.join("\n\n", docs) + "\n");
    }

    private static JsonNode runJson(String... argv) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int status = Main.run(argv, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        String printed = out.toString(StandardCharsets.UTF_8);
        assertEquals(0, status, "stderr: " + err.toString(StandardCharsets.UTF_8) + "\nstdout: " + printed);
        String[] lines = printed.strip().split("\n");
        return new ObjectMapper().readTree(lines[lines.length - 1]);
    }

    private static List<String> corpusSentences(int count) throws IOException {
        List<String> out = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(new GZIPInputStream(
                BundledCorpus.class.getResourceAsStream(BundledCorpus.RESOURCE)), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null && out.size() < count; ) {
                if (line.split(" ").length >= 4) out.add(line.strip());
            }
        }
        assertEquals(count, out.size(), "sentences in the bundled corpus");
        return out;
    }
}
