package dev.jllama.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Few-shot evaluation against lm-evaluation-harness 0.4.13 itself ({@code src/test/python/lm_eval_check.py}, run by
 * the Python named by JLLAMA_LMEVAL_PYTHON, which .ci/run makes and sets): for generated rows of BoolQ, HellaSwag,
 * MMLU and WinoGrande, converted by {@code submit/tasks/from_lm_eval.py} and scored by {@code llama eval --shots 2},
 * every choice's log-likelihood equals lm-evaluation-harness's on our Hugging Face export (its own task templates,
 * few-shot contexts, request building and metrics; transformers' LlamaForCausalLM scoring), to 1e-4, and acc and
 * acc_norm are the same; BoolQ's acc_ratio against "Answer:" is checked on its loglikelihood requests, and against
 * "" (the end-of-document token alone) equals its acc_mutual_info.
 */
class LmEvalCrossCheckTest {
    static final String VARIABLE = "JLLAMA_LMEVAL_PYTHON";
    private static final Path SCRIPT = Path.of("src/test/python/lm_eval_check.py");
    private static final Path CONVERTER = ApplicationJar.ROOT.resolve("submit/tasks/from_lm_eval.py");
    private static final int SHOTS = 2;
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    /**
     * One task of the check: lm-evaluation-harness's name for the converter and its YAML, and its rows; with
     * {@code mutualInfo}, our task's unconditional context is "" and lm-evaluation-harness's metric acc_mutual_info.
     */
    private record Task(String name, String yaml, List<ObjectNode> rows, List<ObjectNode> fewshotRows, boolean mutualInfo) {
        Task(String name, String yaml, List<ObjectNode> rows, List<ObjectNode> fewshotRows) {
            this(name, yaml, rows, fewshotRows, false);
        }

        String stem() {
            return mutualInfo ? name + "-mutual-info" : name;
        }
    }

    @Test
    void perItemLogLikelihoodsAndAccuraciesEqualLmEvaluationHarness() throws Exception {
        assumeTrue(System.getenv(VARIABLE) != null, VARIABLE + " is not set: no Python with lm-evaluation-harness to"
                + " cross-check against (.ci/run creates one)");
        Path run = ExportFixtures.checkpoint(ExportFixtures.randomWeights(ExportFixtures.TIED, 41), tmp.resolve("run"));
        Path hf = tmp.resolve("hf");
        ExportFixtures.llama("export", "--checkpoint", run.toString(), "--format", "hf", "--out", hf.toString());

        SplittableRandom random = new SplittableRandom(7);
        String[] words = ExportFixtures.TEXT.replaceAll("[^A-Za-z ]", " ").trim().toLowerCase().split("\\s+");
        Function<Integer, String> phrase = n -> {
            StringBuilder b = new StringBuilder();
            for (int i = 0; i < n; i++) b.append(i == 0 ? "" : " ").append(words[random.nextInt(words.length)]);
            return b.toString();
        };
        List<ObjectNode> boolq = rows(6, i -> JSON.createObjectNode()
                .put("passage", capitalised(phrase.apply(10 + i)) + ".").put("question", phrase.apply(5))
                .put("label", random.nextInt(2)));
        List<Task> tasks = List.of(
                new Task("boolq", "super_glue/boolq/default.yaml", boolq, List.of()),
                new Task("boolq", "super_glue/boolq/default.yaml", boolq, List.of(), true),
                new Task("hellaswag", "hellaswag/hellaswag.yaml", rows(6, i -> {
                    ObjectNode row = JSON.createObjectNode().put("activity_label", capitalised(phrase.apply(1)))
                            // the last row's context is longer than the model's window: it is truncated on the left
                            .put("ctx_a", capitalised(phrase.apply(i == 5 ? 150 : 8)) + ".").put("ctx_b", phrase.apply(2))
                            .put("label", Integer.toString(random.nextInt(4)));
                    ArrayNode endings = row.putArray("endings");
                    for (int c = 0; c < 4; c++) endings.add(phrase.apply(2 + random.nextInt(6)) + ".");
                    return row;
                }), List.of()),
                new Task("mmlu", "mmlu/default/mmlu_anatomy.yaml", rows(5, i -> mmluRow(phrase, random)),
                        rows(3, i -> mmluRow(phrase, random))),
                new Task("winogrande", "winogrande/default.yaml", rows(6, i -> JSON.createObjectNode()
                        .put("sentence", capitalised(phrase.apply(4)) + " _ " + phrase.apply(5) + ".")
                        .put("option1", phrase.apply(1)).put("option2", phrase.apply(2))
                        .put("answer", Integer.toString(1 + random.nextInt(2)))), List.of()));

        List<String> evalArgs = new ArrayList<>(List.of("eval", "--checkpoint", run.toString(), "--shots",
                Integer.toString(SHOTS), "--samples", tmp.resolve("samples.jsonl").toString(), "--tasks"));
        for (Task task : tasks) {
            Path rows = writeRows(tmp.resolve(task.stem() + "-rows.jsonl"), task.rows());
            Path out = tmp.resolve(task.stem() + ".jsonl");
            List<String> args = new ArrayList<>(List.of(task.name(), rows.toString(), out.toString(), "--sampler", "first_n"));
            if (!task.fewshotRows().isEmpty()) {
                args.addAll(List.of("--fewshot", writeRows(tmp.resolve(task.stem() + "-dev.jsonl"), task.fewshotRows()).toString()));
            }
            HfPython.runScript(VARIABLE, CONVERTER, args.toArray(String[]::new));
            if (task.mutualInfo()) {
                String converted = Files.readString(out);
                String withEmptyContext = converted.replace("\"unconditional_context\": \"Answer:\"", "\"unconditional_context\": \"\"");
                assertTrue(!withEmptyContext.equals(converted), "the converter gives BoolQ the paper's \"Answer:\"");
                Files.writeString(out, withEmptyContext);
            }
            evalArgs.add(out.toString());
        }
        JsonNode ours = ExportFixtures.llama(evalArgs.toArray(String[]::new));
        List<JsonNode> samples = new ArrayList<>();
        for (String line : Files.readAllLines(tmp.resolve("samples.jsonl"))) samples.add(JSON.readTree(line));

        List<String> checkArgs = new ArrayList<>(List.of(hf.toString()));
        for (Task task : tasks) {
            ObjectNode spec = JSON.createObjectNode().put("task_yaml", task.yaml()).put("shots", SHOTS);
            spec.putArray("docs").addAll(task.rows());
            if (!task.fewshotRows().isEmpty()) spec.putArray("fewshot_docs").addAll(task.fewshotRows());
            if (task.mutualInfo()) spec.put("mutual_info", true);
            else if (task.name().equals("boolq")) spec.putArray("extra_contexts").add("Answer:");
            Path specFile = tmp.resolve(task.stem() + "-spec.json");
            Files.writeString(specFile, spec.toString());
            checkArgs.add(specFile.toString());
        }
        JsonNode reference = JSON.readTree(HfPython.runScript(VARIABLE, SCRIPT, checkArgs.toArray(String[]::new)));

        int at = 0, truncated = 0;
        for (int t = 0; t < tasks.size(); t++) {
            Task task = tasks.get(t);
            boolean ratio = task.name().equals("boolq") && !task.mutualInfo();
            JsonNode theirs = reference.get(t);

            JsonNode result = ours.get("tasks").get(t);
            int n = task.rows().size(), ratioRight = 0;
            assertEquals(n, result.get("items").asInt());
            assertEquals(n, theirs.get("samples").size());
            double maxDiff = 0, spread = 0;
            for (int i = 0; i < n; i++) {
                JsonNode our = samples.get(at + i), their = theirs.get("samples").get(i).get("lls");
                // With acc_mutual_info lm-evaluation-harness scores each choice, then each choice after "" alone.
                ArrayNode ourLls = ((ArrayNode) our.get("lls")).deepCopy();
                if (task.mutualInfo()) ourLls.addAll((ArrayNode) our.get("unconditional_lls"));
                assertEquals(their.size(), ourLls.size(), task.stem() + " item " + i);
                for (int c = 0; c < their.size(); c++) {
                    maxDiff = Math.max(maxDiff, Math.abs(ourLls.get(c).asDouble() - their.get(c).asDouble()));
                    if (c > 0) spread += Math.abs(their.get(c).asDouble() - their.get(c - 1).asDouble());
                }
                if (our.get("truncated").asBoolean()) truncated++;
                if (ratio) {
                    JsonNode unconditional = theirs.get("extra").get("Answer:").get(i);
                    int best = 0;
                    for (int c = 0; c < their.size(); c++) {
                        double difference = Math.abs(our.get("unconditional_lls").get(c).asDouble() - unconditional.get(c).asDouble());
                        maxDiff = Math.max(maxDiff, difference);
                        if (their.get(c).asDouble() - unconditional.get(c).asDouble()
                                > their.get(best).asDouble() - unconditional.get(best).asDouble()) {
                            best = c;
                        }
                    }
                    if (best == our.get("label").asInt()) ratioRight++;
                }
            }
            at += n;
            JsonNode metrics = theirs.get("metrics");
            System.out.printf("lm-evaluation-harness %s (%d items, %d-shot): max |ours - lm-eval| per choice %.3g;"
                            + " acc %.4f vs %.4f, acc_norm %.4f vs %.4f%s%n", task.stem(), n, SHOTS, maxDiff,
                    result.get("acc").asDouble(), metrics.get("acc").asDouble(), result.get("acc_norm").asDouble(),
                    metrics.get("acc_norm").asDouble(), ratio ? String.format(", acc_ratio %.4f vs %.4f",
                            result.get("acc_ratio").asDouble(), (double) ratioRight / n)
                            : task.mutualInfo() ? String.format(", acc_ratio %.4f vs acc_mutual_info %.4f",
                            result.get("acc_ratio").asDouble(), metrics.get("acc_mutual_info").asDouble()) : "");
            assertTrue(spread > 0.1 * n, task.name() + ": the log-likelihoods vary, so the comparison means something");
            assertTrue(maxDiff <= 1e-4, task.stem() + ": log-likelihoods differ by " + maxDiff);
            assertEquals(metrics.get("acc").asDouble(), result.get("acc").asDouble(), 1e-12, task.stem() + " acc");
            assertEquals(metrics.get("acc_norm").asDouble(), result.get("acc_norm").asDouble(), 1e-12, task.stem() + " acc_norm");
            if (ratio) assertEquals((double) ratioRight / n, result.get("acc_ratio").asDouble(), 1e-12, "boolq acc_ratio");
            if (task.mutualInfo()) {
                assertEquals(metrics.get("acc_mutual_info").asDouble(), result.get("acc_ratio").asDouble(), 1e-12,
                        "acc_ratio after \"\" is acc_mutual_info");
            }
        }
        assertEquals(samples.size(), at);
        assertTrue(truncated > 0, "some item is longer than the model's window, so truncation is compared too");
    }

    private static List<ObjectNode> rows(int count, Function<Integer, ObjectNode> row) {
        List<ObjectNode> rows = new ArrayList<>();
        for (int i = 0; i < count; i++) rows.add(row.apply(i));
        return rows;
    }

    private static ObjectNode mmluRow(Function<Integer, String> phrase, SplittableRandom random) {
        ObjectNode row = JSON.createObjectNode().put("question", capitalised(phrase.apply(6)) + "?")
                .put("subject", "anatomy").put("answer", random.nextInt(4));
        ArrayNode choices = row.putArray("choices");
        for (int c = 0; c < 4; c++) choices.add(phrase.apply(1 + random.nextInt(3)));
        return row;
    }

    private static String capitalised(String s) {
        return Character.toUpperCase(s.charAt(0)) + s.substring(1);
    }

    private static Path writeRows(Path file, List<ObjectNode> rows) throws java.io.IOException {
        StringBuilder b = new StringBuilder();
        for (ObjectNode row : rows) b.append(row).append('\n');
        return Files.writeString(file, b.toString());
    }
}
