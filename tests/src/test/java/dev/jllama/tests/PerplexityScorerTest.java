package dev.jllama.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jllama.data.prepare.DocumentScorer;
import dev.jllama.data.tokenizer.Tokenizer;
import dev.jllama.model.LlamaModel;
import dev.jllama.model.eval.Perplexity;
import dev.jllama.model.export.ModelWeights;
import dev.jllama.scoring.DocumentScorers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The perplexity signal, computed by its {@code DocumentScorer} in a Spark job from a checkpoint, against the same
 * windows scored by {@code eval}'s code ({@link Perplexity}) and by Hugging Face transformers on the exported model.
 * The windows are cut here, independently of the scorer: {@code [EOS, tokens...]} in runs of WINDOW + 1 tokens that
 * overlap by one, the last one shorter.
 */
class PerplexityScorerTest {
    static final int WINDOW = 32;
    static final List<String> TEXTS = List.of(
            ExportFixtures.TEXT,
            "Hello.",
            "x",
            "Größe, café and 東京: the tokenizer falls back to bytes for what it has no piece for.",
            (ExportFixtures.TEXT + " ").repeat(4).strip(),
            "A short line about rivers and mills.");

    @TempDir
    static Path tmp;
    static ModelWeights weights;
    static Path run;
    static double[] scores;

    @BeforeAll
    static void scoreInASparkJob() throws Exception {
        weights = ExportFixtures.randomWeights(ExportFixtures.TIED, 11);
        run = ExportFixtures.checkpoint(weights, tmp.resolve("run"));
        // 4 windows of 32 per forward pass: documents of many windows share passes with short ones.
        DocumentScorer scorer = DocumentScorers.perplexity(run.toString(), WINDOW, 4 * WINDOW, 1, new Configuration());
        assertEquals("perplexity", scorer.column());
        scores = ScoringJob.score(scorer, TEXTS, 2, 4);
    }

    @Test
    void equalsEvalsLossOverTheSameWindows() {
        Tokenizer tokenizer = Tokenizer.bundled();
        try (LlamaModel model = ExportFixtures.load(weights)) {
            for (int d = 0; d < TEXTS.size(); d++) {
                List<int[]> full = new ArrayList<>(), last = new ArrayList<>();
                for (int[] w : windows(tokenizer, TEXTS.get(d))) (w.length == WINDOW + 1 ? full : last).add(w);
                double nats = 0;
                long tokens = 0;
                for (List<int[]> group : List.of(full, last)) {
                    if (group.isEmpty()) continue;
                    Perplexity.Result r = Perplexity.evaluate(model, group, 3, tokenizer.textBytesPerToken());
                    nats += r.nats();
                    tokens += r.tokens();
                }
                double expected = Math.exp(nats / tokens);
                assertEquals(expected, scores[d], 1e-5 * expected, "document " + d + ": " + TEXTS.get(d));
            }
        }
        assertTrue(windows(tokenizer, TEXTS.get(4)).size() > 3, "a document of several windows");
    }

    @Test
    void equalsTransformersOnTheExportedModel() throws Exception {
        HfPython.assumeAvailable();
        Path hf = tmp.resolve("hf");
        ExportFixtures.llama("export", "--checkpoint", run.toString(), "--format", "hf", "--out", hf.toString());
        Tokenizer tokenizer = Tokenizer.bundled();
        List<int[]> all = new ArrayList<>();
        int[] owner = new int[1000];
        for (int d = 0; d < TEXTS.size(); d++) {
            for (int[] w : windows(tokenizer, TEXTS.get(d))) {
                owner[all.size()] = d;
                all.add(w);
            }
        }
        Path file = tmp.resolve("windows.json");
        Files.writeString(file, new ObjectMapper().writeValueAsString(all));
        JsonNode nats = new ObjectMapper().readTree(HfPython.run("window_nats", hf.toString(), file.toString()).strip());
        double[] sum = new double[TEXTS.size()];
        long[] tokens = new long[TEXTS.size()];
        for (int i = 0; i < all.size(); i++) {
            sum[owner[i]] += nats.get(i).asDouble();
            tokens[owner[i]] += all.get(i).length - 1;
        }
        for (int d = 0; d < TEXTS.size(); d++) {
            double expected = Math.exp(sum[d] / tokens[d]);
            System.out.printf("document %d: %d tokens, perplexity %.6f (transformers %.6f)%n", d, tokens[d], scores[d],
                    expected);
            assertEquals(expected, scores[d], 1e-4 * expected, "document " + d + ": " + TEXTS.get(d));
        }
    }

    @Test
    void badCheckpointsAreOneLineErrorsNamingThem() {
        Configuration conf = new Configuration();
        String missing = tmp.resolve("no-such-run").toString();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> DocumentScorers.perplexity(missing, null, 4096, 0, conf));
        assertTrue(e.getMessage().contains("no-such-run") && e.getMessage().lines().count() == 1, e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> DocumentScorers.perplexity(run.toString(), 129, 4096, 0, conf));
        assertTrue(e.getMessage().contains("max_seq_len 128"), e.getMessage());
    }

    /** {@code [EOS, encode(text)...]} cut into windows of WINDOW + 1 tokens overlapping by one, the last shorter. */
    static List<int[]> windows(Tokenizer tokenizer, String text) {
        int[] ids = tokenizer.encode(text);
        int[] doc = new int[ids.length + 1];
        doc[0] = tokenizer.eosId();
        System.arraycopy(ids, 0, doc, 1, ids.length);
        List<int[]> out = new ArrayList<>();
        for (int start = 0; start < doc.length - 1; start += WINDOW) {
            out.add(Arrays.copyOfRange(doc, start, Math.min(doc.length, start + WINDOW + 1)));
        }
        return out;
    }
}
