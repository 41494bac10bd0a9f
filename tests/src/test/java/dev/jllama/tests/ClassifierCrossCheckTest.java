package dev.jllama.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jllama.cli.Main;
import dev.jllama.data.prepare.BundledCorpus;
import dev.jllama.data.prepare.TextCleaner;
import dev.jllama.scoring.ClassifierModel;
import dev.jllama.scoring.DocumentScorers;
import dev.jllama.scoring.HashedNgrams;
import dev.jllama.scoring.HeldOutSplit;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.Writer;
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
import org.apache.spark.ml.linalg.SparseVector;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The quality classifier on a generated task that is not trivially separable: positive documents are runs of real
 * English sentences (the bundled corpus), negative ones the same kind of runs with their words shuffled (same
 * unigrams, broken bigrams), and a fifth of each file carries the other class's kind of text (label noise).
 * {@code train-classifier} trains on it; scikit-learn's LogisticRegression, trained on the same hashed features
 * (written out here with the classifier's own featurizer and split), must reach the same held-out AUC within 0.01;
 * and the saved model, applied by its {@code DocumentScorer} in a Spark job, must give the scores that AUC came from.
 */
class ClassifierCrossCheckTest {
    static final String SKLEARN = "JLLAMA_LMEVAL_PYTHON";
    static final int DOCUMENTS = 1200, SENTENCES = 4, FEATURES = 1 << 18;
    static final double REG = 1e-4, HELD_OUT = 0.2, NOISE = 0.2;
    static final long SEED = 7;

    @TempDir
    static Path tmp;
    static List<String> positive, negative;
    static JsonNode result;
    static Path model;

    @BeforeAll
    static void train() throws IOException {
        List<String> sentences = corpusSentences(2 * DOCUMENTS * SENTENCES);
        Random random = new Random(1);
        positive = new ArrayList<>();
        negative = new ArrayList<>();
        for (int d = 0; d < 2 * DOCUMENTS; d++) {
            String original = String.join(" ", sentences.subList(d * SENTENCES, (d + 1) * SENTENCES));
            boolean shuffled = d % 2 == 1;
            boolean noisy = random.nextDouble() < NOISE;
            String text = shuffled ? shuffleWords(original, random) : original;
            (shuffled != noisy ? negative : positive).add(text);
        }
        Path pos = write(tmp.resolve("positive.txt"), positive), neg = write(tmp.resolve("negative.txt"), negative);
        model = tmp.resolve("quality.model");
        result = runJson("train-classifier", "--positive", pos.toString(), "--negative", neg.toString(),
                "--out", model.toString(), "--held-out", "" + HELD_OUT, "--seed", "" + SEED, "--reg", "" + REG,
                "--features", "" + FEATURES, "--master", "local[2]", "--json");
    }

    @Test
    void heldOutAucMatchesScikitLearnOnTheSameFeatures() throws Exception {
        assumeTrue(System.getenv(SKLEARN) != null, SKLEARN + " is not set: no Python with scikit-learn (.ci/run makes one)");
        Path train = tmp.resolve("train.svm"), held = tmp.resolve("held.svm");
        HashedNgrams features = new HashedNgrams(FEATURES);
        try (Writer t = Files.newBufferedWriter(train); Writer h = Files.newBufferedWriter(held)) {
            for (int label = 0; label <= 1; label++) {
                for (String doc : label == 1 ? positive : negative) {
                    String text = TextCleaner.clean(doc);
                    (HeldOutSplit.isHeldOut(text, SEED, HELD_OUT) ? h : t).write(svmLine(label, features.vector(text)));
                }
            }
        }
        JsonNode reference = new ObjectMapper().readTree(HfPython.runScript(SKLEARN,
                Path.of("src/test/python/sklearn_classifier_check.py"), train.toString(), held.toString(),
                "" + FEATURES, "" + REG).strip());
        double auc = result.get("auc").asDouble(), sklearnAuc = reference.get("auc").asDouble();
        System.out.printf("held-out AUC: jllama %.4f, scikit-learn %.4f; accuracy: jllama %.4f, scikit-learn %.4f%n",
                auc, sklearnAuc, result.get("accuracy").asDouble(), reference.get("accuracy").asDouble());
        assertEquals(result.get("held_out_documents").asInt(), reference.get("held_out").asInt(), "the same split");
        assertEquals(result.get("train_documents").asInt(), reference.get("train").asInt(), "the same split");
        assertTrue(auc > 0.6 && auc < 0.95, "the task is learnable but not trivial: AUC " + auc);
        assertEquals(sklearnAuc, auc, 0.01, "held-out AUC against scikit-learn's");
        assertEquals(reference.get("accuracy").asDouble(), result.get("accuracy").asDouble(), 0.02);
    }

    @Test
    void theSavedModelScoresInASparkJobAsTrainingMeasured() throws IOException {
        List<String> texts = new ArrayList<>();
        List<Integer> labels = new ArrayList<>();
        for (int label = 0; label <= 1; label++) {
            for (String doc : label == 1 ? positive : negative) {
                String text = TextCleaner.clean(doc);
                if (HeldOutSplit.isHeldOut(text, SEED, HELD_OUT)) {
                    texts.add(text);
                    labels.add(label);
                }
            }
        }
        double[] scores = ScoringJob.score(DocumentScorers.classifier(model.toString(), new Configuration()), texts, 3, 50);
        assertEquals(texts.size(), scores.length);
        ClassifierModel loaded = ClassifierModel.read(model.toString(), new Configuration());
        HashedNgrams features = loaded.features();
        int correct = 0;
        for (int i = 0; i < scores.length; i++) {
            assertEquals(loaded.probability(features.vector(texts.get(i))), scores[i], 1e-12);
            if ((scores[i] >= 0.5) == (labels.get(i) == 1)) correct++;
        }
        assertEquals(result.get("auc").asDouble(), auc(scores, labels), 1e-9, "AUC of the scorer's scores");
        assertEquals(result.get("accuracy").asDouble(), (double) correct / scores.length, 1e-9);
    }

    @Test
    void badInputIsOneLineNamingIt() throws IOException {
        Path empty = Files.writeString(tmp.resolve("empty.txt"), "\n\n   \n");
        Path pos = tmp.resolve("positive.txt");
        assertOneLine(run("train-classifier", "--positive", pos.toString(), "--negative", tmp.resolve("nope").toString(),
                "--out", tmp.resolve("m1").toString(), "--master", "local[1]"), "nope");
        assertOneLine(run("train-classifier", "--positive", pos.toString(), "--negative", empty.toString(),
                "--out", tmp.resolve("m2").toString(), "--master", "local[1]"), "--negative");
        assertOneLine(run("train-classifier", "--positive", pos.toString(), "--negative", pos.toString(),
                "--out", model.toString()), "already exists");
        assertOneLine(run("train-classifier", "--positive", pos.toString(), "--negative", pos.toString(),
                "--out", pos + "/model"), "cannot be written");
        assertTrue(Files.notExists(tmp.resolve("m1")) && Files.notExists(tmp.resolve("m2")));
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> DocumentScorers.classifier(pos.toString(), new Configuration()));
        assertTrue(e.getMessage().contains(pos.toString()), e.getMessage());
    }

    private static void assertOneLine(String[] outErr, String names) {
        String err = outErr[1];
        assertEquals(1, err.strip().lines().count(), "one line on standard error: " + err);
        assertTrue(err.contains(names), "names " + names + ": " + err);
    }

    /** The rank-sum AUC, ties counted half. */
    static double auc(double[] scores, List<Integer> labels) {
        long pairs = 0;
        double wins = 0;
        for (int i = 0; i < scores.length; i++) {
            if (labels.get(i) != 1) continue;
            for (int j = 0; j < scores.length; j++) {
                if (labels.get(j) != 0) continue;
                pairs++;
                wins += scores[i] > scores[j] ? 1 : scores[i] == scores[j] ? 0.5 : 0;
            }
        }
        return wins / pairs;
    }

    private static String svmLine(int label, SparseVector v) {
        StringBuilder line = new StringBuilder().append(label);
        for (int i = 0; i < v.indices().length; i++) line.append(' ').append(v.indices()[i]).append(':').append(v.values()[i]);
        return line.append('\n').toString();
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

    private static String shuffleWords(String text, Random random) {
        List<String> words = new ArrayList<>(Arrays.asList(text.split(" ")));
        Collections.shuffle(words, random);
        return String.join(" ", words);
    }

    /** One document a line, documents separated by blank lines (the text reader's format). */
    private static Path write(Path file, List<String> docs) throws IOException {
        return Files.writeString(file, String.join("\n\n", docs) + "\n");
    }

    private static String[] run(String... argv) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int status = Main.run(argv, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        String e = err.toString(StandardCharsets.UTF_8);
        assertTrue(status != 0, "should fail: " + String.join(" ", argv) + "\n" + out);
        return new String[] {out.toString(StandardCharsets.UTF_8), e};
    }

    private static JsonNode runJson(String... argv) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int status = Main.run(argv, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        String printed = out.toString(StandardCharsets.UTF_8);
        assertEquals(0, status, "stderr: " + err.toString(StandardCharsets.UTF_8) + "\nstdout: " + printed);
        String[] lines = printed.strip().split("\n");
        System.out.println(printed);
        return new ObjectMapper().readTree(lines[lines.length - 1]);
    }
}
