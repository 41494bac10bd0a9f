package dev.jllama.tests;

import static dev.jllama.tests.TrainRuns.lossesByStep;
import static dev.jllama.tests.TrainRuns.trainWithOutput;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a run leaves for the people watching it: {@code metrics.jsonl}, one line per step and per validation, agreeing
 * with what the command printed and its checkpoints recorded, continued without duplicates by a resumed run; and
 * {@code loss.png}.
 */
class RunMetricsTest {
    private static final int STEPS = 12;
    private static final Pattern PRINTED_STEP = Pattern.compile("^step +(\\d+)/" + STEPS + " \\| loss (\\d+\\.\\d{4}) ",
            Pattern.MULTILINE);

    @TempDir
    static Path work;
    static String data;

    @BeforeAll
    static void prepareBundledCorpus() {
        data = TrainRuns.bundledData();
    }

    private static String[] args(Path out, String... extra) {
        String[] common = {"train", "--data", data, "--out", out.toString(), "--model", "tiny", "--steps",
                Integer.toString(STEPS), "--micro-batch", "4", "--seq-len", "64", "--checkpoint-every", "6", "--keep",
                "5", "--threads", "2", "--eval-batches", "2", "--log-every", "1", "--json"};
        return Stream.concat(Stream.of(common), Stream.of(extra)).toArray(String[]::new);
    }

    private static List<JsonNode> metrics(Path run) throws Exception {
        List<JsonNode> lines = new ArrayList<>();
        for (String line : Files.readAllLines(run.resolve("metrics.jsonl"))) lines.add(new ObjectMapper().readTree(line));
        return lines;
    }

    private static List<JsonNode> steps(List<JsonNode> metrics) {
        return metrics.stream().filter(n -> !n.has("val_loss")).toList();
    }

    @Test
    void metricsAgreeWithTheRunAndContinueAfterResume() throws Exception {
        Path run = work.resolve("run");
        TrainRuns.Finished first = trainWithOutput(args(run));
        JsonNode result = first.result();
        long tokensPerStep = result.get("tokens_per_step").asLong();
        List<JsonNode> metrics = metrics(run);
        List<JsonNode> steps = steps(metrics);

        assertEquals(STEPS + 2, metrics.size(), "one line per step and a validation at each checkpoint: " + metrics);
        for (int i = 0; i < STEPS; i++) {
            JsonNode m = steps.get(i);
            assertEquals(i + 1, m.get("step").asInt());
            assertEquals((i + 1) * tokensPerStep, m.get("tokens").asLong(), "tokens grow by a step's tokens");
            double split = m.get("compute_s").asDouble() + m.get("comm_wait_s").asDouble() + m.get("data_wait_s").asDouble();
            assertEquals(tokensPerStep / m.get("tokens_per_s").asDouble(), split, 1e-6,
                    "compute, all-reduce wait and data wait make up the step: " + m);
            assertTrue(m.get("data_wait_s").asDouble() > 0 && m.get("grad_norm").asDouble() > 0, m.toString());
        }
        // The printed loss of every step is the metrics' loss, rounded as printed.
        Matcher printed = PRINTED_STEP.matcher(first.stdout());
        int printedSteps = 0;
        while (printed.find()) {
            JsonNode m = steps.get(Integer.parseInt(printed.group(1)) - 1);
            assertEquals(String.format(Locale.ROOT, "%.4f", m.get("loss").asDouble()), printed.group(2).replace(',', '.'));
            printedSteps++;
        }
        assertEquals(STEPS, printedSteps, "--log-every 1 prints every step:\n" + first.stdout());
        // Exactly the values of the result and the checkpoints.
        assertEquals(result.get("final_loss").asDouble(), steps.get(STEPS - 1).get("loss").asDouble(), 0.0);
        List<JsonNode> validations = metrics.stream().filter(n -> n.has("val_loss")).toList();
        assertEquals(List.of(6, STEPS), validations.stream().map(n -> n.get("step").asInt()).toList());
        assertEquals(metrics.get(6), validations.get(0), "step 6's validation follows step 6");
        JsonNode validation = metrics.get(STEPS + 1);
        assertEquals(STEPS, validation.get("step").asInt());
        assertEquals(STEPS * tokensPerStep, validation.get("tokens").asLong());
        assertEquals(result.get("val_loss").asDouble(), validation.get("val_loss").asDouble(), 0.0);
        Map<Integer, Double> checkpointed = lossesByStep(run.resolve("checkpoints").toString());
        assertEquals(List.of(6, 12), List.copyOf(checkpointed.keySet()));
        for (int step : checkpointed.keySet()) {
            assertEquals(checkpointed.get(step), steps.get(step - 1).get("loss").asDouble(), 0.0, "step " + step);
        }
        assertLossCurve(run);

        // A crash after step 6's checkpoint: the resumed run keeps lines 1-6 as they were and writes 7-12 again.
        deleteTree(run.resolve("checkpoints/step-00000012"));
        double resumedAt = System.currentTimeMillis() / 1000.0;
        JsonNode resumed = trainWithOutput(args(run, "--resume")).result();
        assertEquals(6, resumed.get("start_step").asInt());
        List<JsonNode> after = metrics(run);
        List<JsonNode> afterSteps = steps(after);
        assertEquals(STEPS + 2, after.size(), "no step twice, one validation per checkpoint: " + after);
        for (int i = 0; i < STEPS; i++) {
            JsonNode before = steps.get(i), now = afterSteps.get(i);
            assertEquals(i + 1, now.get("step").asInt());
            assertEquals(before.get("tokens"), now.get("tokens"));
            assertEquals(before.get("loss").asDouble(), now.get("loss").asDouble(), 0.0, "the resumed run repeats the loss");
            if (i < 6) assertEquals(before, now, "lines up to the checkpoint are kept as they were");
            else assertTrue(now.get("time").asDouble() >= resumedAt, "step " + (i + 1) + " is the resumed run's");
        }
        assertEquals(validations.get(0), after.get(6), "step 6's validation is kept as it was");
        assertEquals(resumed.get("val_loss").asDouble(), after.get(STEPS + 1).get("val_loss").asDouble(), 0.0);
        assertLossCurve(run);
    }

    private static void assertLossCurve(Path run) throws Exception {
        BufferedImage image = ImageIO.read(run.resolve("loss.png").toFile());
        assertTrue(image != null, "loss.png is no image ImageIO reads");
        assertEquals(1000, image.getWidth());
        assertEquals(600, image.getHeight());
    }

    private static void deleteTree(Path root) throws Exception {
        try (Stream<Path> paths = Files.walk(root)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
