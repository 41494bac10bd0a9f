package dev.jllama.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jllama.model.LlamaConfig;
import dev.jllama.model.ModelFlops;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A run's TensorBoard event files read by TensorBoard's own reader ({@code src/test/python/tensorboard_scalars.py}
 * with the Python named by JLLAMA_TENSORBOARD_PYTHON, which .ci/run makes and sets): the same tags, steps and
 * values as {@code metrics.jsonl}, after a fresh run and after a resumed one, and with the earlier attempt's file
 * still beside the new one (a TensorBoard that read it before the resume). Skipped only when the variable is unset;
 * with it set, a missing or failing Python fails the test.
 */
class TensorBoardTest {
    static final String VARIABLE = "JLLAMA_TENSORBOARD_PYTHON";
    private static final Path SCRIPT = Path.of("src/test/python/tensorboard_scalars.py");
    private static final int STEPS = 6;
    private static final int SEQ_LEN = 64;
    /** The metrics.jsonl field behind each TensorBoard tag, of step lines and of validation lines. */
    private static final Map<String, String> STEP_TAGS = Map.of("train/loss", "loss", "train/learning_rate", "lr",
            "train/grad_norm", "grad_norm", "train/tokens_per_s", "tokens_per_s", "train/mfu", "mfu",
            "train/compute_s", "compute_s", "train/all_reduce_wait_s", "comm_wait_s", "train/data_wait_s",
            "data_wait_s");
    private static final Map<String, String> VALIDATION_TAGS = Map.of("val/loss", "val_loss", "val/perplexity",
            "val_ppl", "val/bits_per_byte", "val_bpb");

    @TempDir
    static Path work;

    private static String[] args(Path out, String... extra) {
        List<String> args = new ArrayList<>(List.of("train", "--data", TrainRuns.bundledData(), "--out",
                out.toString(), "--model", "tiny", "--steps", Integer.toString(STEPS), "--micro-batch", "4",
                "--seq-len", Integer.toString(SEQ_LEN), "--checkpoint-every", "3", "--keep", "5", "--threads", "2",
                "--eval-batches", "1", "--json"));
        args.addAll(List.of(extra));
        return args.toArray(String[]::new);
    }

    @Test
    void eventFilesHoldWhatMetricsJsonlHolds() throws Exception {
        assumeTrue(System.getenv(VARIABLE) != null, VARIABLE + " is not set: no Python with tensorboard to read the "
                + "event files with (.ci/run creates one)");
        Path run = work.resolve("run");
        Path peakCache = work.resolve("peak-flops.json");
        String cacheBefore = System.getProperty("jllama.peakFlopsCache");
        System.setProperty("jllama.peakFlopsCache", peakCache.toString()); // the run's own probe, read back below
        try {
            TrainRuns.train(args(run));
            List<JsonNode> metrics = metrics(run);
            assertEquals(STEPS + 2, metrics.size(), "a line per step and per validation (steps 3 and 6)");
            JsonNode read = tensorboard(run.resolve("tensorboard"));
            assertEquals(1, read.get("files").size(), read.get("files").toString());
            assertEquals(expected(metrics), scalars(read), "TensorBoard's scalars are metrics.jsonl's");
            assertMfuIsModelFlopsOverThePeak(metrics, peakCache);

            // A crash after step 3's checkpoint: the resumed run's file starts with steps 1-3 as metrics.jsonl kept
            // them, goes on with 4-6, and the first attempt's file is deleted.
            Path firstFile = onlyFile(run.resolve("tensorboard"));
            Path earlierAttempt = Files.copy(firstFile, work.resolve(firstFile.getFileName()));
            deleteTree(run.resolve("checkpoints/step-00000006"));
            assertEquals(3, TrainRuns.train(args(run, "--resume")).get("start_step").asInt());
            List<JsonNode> resumed = metrics(run);
            assertEquals(STEPS + 2, resumed.size(), "no step twice: " + resumed);
            JsonNode afterResume = tensorboard(run.resolve("tensorboard"));
            assertNotEquals(firstFile, onlyFile(run.resolve("tensorboard")), "the new attempt's file only");
            assertEquals(expected(resumed), scalars(afterResume));
            assertNotEquals(expected(metrics), expected(resumed), "steps 4-6 were measured again (times differ)");

            // A TensorBoard that had read the first attempt's file before it was deleted: the new file's restart
            // event drops what it read, so it too ends with metrics.jsonl's values.
            Path live = Files.createDirectories(work.resolve("live"));
            Files.move(earlierAttempt, live.resolve(earlierAttempt.getFileName()));
            Path newFile = onlyFile(run.resolve("tensorboard"));
            Files.copy(newFile, live.resolve(newFile.getFileName()));
            JsonNode both = tensorboard(live);
            assertEquals(2, both.get("files").size());
            assertEquals(earlierAttempt.getFileName().toString(), both.get("files").get(0).asText(), "older first");
            assertEquals(expected(resumed), scalars(both));
        } finally {
            if (cacheBefore == null) System.clearProperty("jllama.peakFlopsCache");
            else System.setProperty("jllama.peakFlopsCache", cacheBefore);
        }
    }

    /** Each step's MFU is the tiny model's FLOPs per token times its tokens/s over the peak its rank measured. */
    private static void assertMfuIsModelFlopsOverThePeak(List<JsonNode> metrics, Path peakCache) throws IOException {
        JsonNode cache = new ObjectMapper().readTree(Files.readAllBytes(peakCache));
        assertEquals(1, cache.size(), "one probe, one entry: " + cache);
        double peak = cache.elements().next().asDouble();
        double flopsPerToken = ModelFlops.perToken(LlamaConfig.PRESETS.get("tiny"), SEQ_LEN);
        for (JsonNode m : metrics) {
            if (m.has("val_loss")) continue;
            double expected = flopsPerToken * m.get("tokens_per_s").asDouble() / peak;
            assertEquals(expected, m.get("mfu").asDouble(), expected * 1e-12, m.toString());
        }
    }

    private static List<JsonNode> metrics(Path run) throws IOException {
        List<JsonNode> lines = new ArrayList<>();
        for (String line : Files.readAllLines(run.resolve("metrics.jsonl"))) lines.add(new ObjectMapper().readTree(line));
        return lines;
    }

    /** Tag to "step value" lines, values as TensorBoard stores them (float). */
    private static Map<String, List<String>> expected(List<JsonNode> metrics) {
        Map<String, List<String>> byTag = new TreeMap<>();
        for (JsonNode line : metrics) {
            Map<String, String> tags = line.has("val_loss") ? VALIDATION_TAGS : STEP_TAGS;
            tags.forEach((tag, field) -> {
                JsonNode value = line.get(field);
                assertTrue(value != null && value.isNumber(), field + " in " + line);
                byTag.computeIfAbsent(tag, t -> new ArrayList<>())
                        .add(line.get("step").asInt() + " " + (double) (float) value.asDouble());
            });
        }
        return byTag;
    }

    private static Map<String, List<String>> scalars(JsonNode read) {
        Map<String, List<String>> byTag = new TreeMap<>();
        read.get("scalars").fields().forEachRemaining(e -> {
            List<String> points = new ArrayList<>();
            for (JsonNode point : e.getValue()) points.add(point.get(0).asInt() + " " + point.get(1).asDouble());
            byTag.put(e.getKey(), points);
        });
        return byTag;
    }

    /** What tensorboard_scalars.py prints for a directory of event files; fails the test unless it exits 0. */
    private static JsonNode tensorboard(Path dir) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(System.getenv(VARIABLE), SCRIPT.toString(), dir.toString())
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String out;
        try (InputStream in = p.getInputStream()) {
            out = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "tensorboard_scalars.py timed out");
        assertEquals(0, p.exitValue(), "tensorboard_scalars.py " + dir + " failed: " + out);
        JsonNode read = new ObjectMapper().readTree(out);
        for (JsonNode records : read.get("records")) assertTrue(records.asInt() > 2, "events in every file: " + read);
        return read;
    }

    private static Path onlyFile(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            List<Path> all = files.toList();
            assertEquals(1, all.size(), all.toString());
            return all.get(0);
        }
    }

    private static void deleteTree(Path root) throws IOException {
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }
}
