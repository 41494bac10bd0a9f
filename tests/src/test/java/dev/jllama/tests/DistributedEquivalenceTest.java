package dev.jllama.tests;

import static dev.jllama.tests.TrainRuns.finalMoments;
import static dev.jllama.tests.TrainRuns.finalWeights;
import static dev.jllama.tests.TrainRuns.lossesByStep;
import static dev.jllama.tests.TrainRuns.train;
import static dev.jllama.tests.TrainRuns.worstRelativeDifference;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jllama.data.shard.Dataset;
import dev.jllama.model.checkpoint.SafeTensors;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Data parallelism changes nothing but speed: N ranks at micro-batch b train the same model as one rank that
 * accumulates N micro-batches of b over the same windows, and ZeRO-1 gives the replicated run's bits. Ranks run as
 * barrier tasks on local Spark here; {@link ClusterTrainingTest} repeats the comparison across executor JVMs.
 */
class DistributedEquivalenceTest {
    static final int STEPS = 5;
    static final double TOLERANCE = 1e-6;
    private static final ObjectMapper MAPPER = new ObjectMapper();

    @TempDir
    static Path work;
    static String data;

    @BeforeAll
    static void prepareBundledCorpus() {
        data = TrainRuns.bundledData();
    }

    /** Common options: tiny, 5 steps, one thread per rank, a checkpoint (with its loss) after every step. */
    static String[] run(String out, int ranks, int microBatch, int accumulationOfOneRank, String... extra) {
        return run(data, out, ranks, microBatch, accumulationOfOneRank, extra);
    }

    static String[] run(String data, String out, int ranks, int microBatch, int accumulationOfOneRank,
                        String... extra) {
        int seqLen = 64;
        String[] common = {"train", "--data", data, "--out", out, "--model", "tiny", "--steps", Integer.toString(STEPS),
                "--seq-len", Integer.toString(seqLen), "--micro-batch", Integer.toString(microBatch),
                "--batch-tokens", Integer.toString(accumulationOfOneRank * microBatch * seqLen),
                "--ranks", Integer.toString(ranks), "--threads", "1", "--warmup", "2", "--lr", "3e-3",
                "--checkpoint-every", "1", "--keep", "100", "--check-every", "1", "--eval-batches", "0", "--json"};
        return Stream.concat(Stream.of(common), Stream.of(extra)).toArray(String[]::new);
    }

    static void assertSameTraining(String reference, String candidate) throws Exception {
        Map<Integer, Double> expected = lossesByStep(reference + "/checkpoints");
        Map<Integer, Double> actual = lossesByStep(candidate + "/checkpoints");
        assertEquals(expected.keySet(), actual.keySet(), "checkpointed steps");
        assertEquals(STEPS, expected.size());
        for (int step : expected.keySet()) {
            double e = expected.get(step), a = actual.get(step);
            assertTrue(Math.abs(a - e) <= TOLERANCE * Math.abs(e),
                    "loss at step " + step + ": " + a + " vs one rank's " + e);
        }
        double params = worstRelativeDifference(finalWeights(candidate + "/checkpoints"),
                finalWeights(reference + "/checkpoints"));
        assertTrue(params <= TOLERANCE, "parameters after " + STEPS + " steps differ by " + params + " (relative)");
    }

    @Test
    void twoRanksEqualOneRankAccumulatingTwoMicroBatches() throws Exception {
        String one = work.resolve("one-rank-x2").toString(), two = work.resolve("two-ranks").toString();
        JsonNode single = train(run(one, 1, 4, 2));
        JsonNode pair = train(run(two, 2, 4, 2));
        assertEquals(1, single.get("ranks").asInt());
        assertEquals(2, pair.get("ranks").asInt());
        assertEquals(single.get("tokens_per_step").asLong(), pair.get("tokens_per_step").asLong());
        assertSameTraining(one, two);
        // Each rank trained on 5 steps of 4 windows of 64 uint16 tokens and read at least those bytes.
        assertEquals("[2560,2560]", pair.get("bytes_trained").toString(), pair.toString());
        long read = 0;
        for (JsonNode rank : pair.get("bytes_read")) {
            assertTrue(rank.asLong() >= 2560, "a rank reads at least what it trains on: " + pair);
            read += rank.asLong();
        }
        assertEquals((double) read / (2 * 2560), pair.get("read_amplification").asDouble(), 1e-12);
    }

    @Test
    void threeRanksEqualOneRankAccumulatingThreeMicroBatches() throws Exception {
        String one = work.resolve("one-rank-x3").toString(), three = work.resolve("three-ranks").toString();
        train(run(one, 1, 2, 3));
        train(run(three, 3, 2, 3));
        assertSameTraining(one, three);
    }

    @Test
    void zeroOneGivesTheReplicatedRunsBits() throws Exception {
        String replicated = work.resolve("replicated").toString(), sharded = work.resolve("zero").toString();
        train(run(replicated, 2, 4, 2));
        JsonNode zero = train(run(sharded, 2, 4, 2, "--zero", "1"));
        assertEquals(lossesByStep(replicated + "/checkpoints"), lossesByStep(sharded + "/checkpoints"));
        assertBitIdentical(finalWeights(replicated + "/checkpoints"), finalWeights(sharded + "/checkpoints"));
        assertBitIdentical(finalMoments(replicated + "/checkpoints"), finalMoments(sharded + "/checkpoints"));
        long parameters = zero.get("parameters").asLong();
        assertTrue(zero.get("moment_bytes_per_rank").asLong() < 8 * parameters * 0.6,
                "ZeRO-1 keeps about half of the moments per rank: " + zero);
    }

    @Test
    void resumesWithAnotherNumberOfRanks() throws Exception {
        String straight = work.resolve("straight-2").toString(), changed = work.resolve("changed").toString();
        train(run(straight, 2, 4, 2));
        // Stop a 2-rank run after step 3 (its checkpoints 4 and 5 removed), then go on with 1 rank accumulating 2.
        train(run(changed, 2, 4, 2));
        for (int step = 4; step <= STEPS; step++) {
            Path dir = Path.of(changed, "checkpoints", String.format("step-%08d", step));
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        JsonNode resumed = train(run(changed, 1, 4, 2, "--resume"));
        assertEquals(3, resumed.get("start_step").asInt());
        assertSameTraining(straight, changed);
    }

    @Test
    void trainsOnAWeightedMixtureAndReportsWhatItDrew() throws Exception {
        // The second component reads the dataset's one source by name (DIR#SOURCE): the executors reopen it so.
        String source = Dataset.open(data, new org.apache.hadoop.conf.Configuration()).manifest().split("train").sources()
                .keySet().iterator().next();
        String mixture = "web=" + data + ":0.75,books=" + data + "#" + source + ":0.25";
        Path runDir = work.resolve("mixture");
        JsonNode result = train(run(mixture, runDir.toString(), 2, 8, 2));
        JsonNode drawn = result.get("data");
        long web = drawn.get("web").get("windows").asLong(), books = drawn.get("books").get("windows").asLong();
        assertEquals(STEPS * 2 * 8, web + books, "every window of every step comes from one of the datasets: " + drawn);
        assertTrue(web > books, "the 0.75 dataset is drawn more often: " + drawn);
        assertEquals(0.75, drawn.get("web").get("weight").asDouble(), 1e-12);
        // Both names are the same dataset, so their epochs are in the ratio of their windows.
        double webEpochs = drawn.get("web").get("epochs").asDouble(), booksEpochs = drawn.get("books").get("epochs").asDouble();
        assertTrue(booksEpochs > 0, drawn.toString());
        assertEquals((double) web / books, webEpochs / booksEpochs, 1e-9, drawn.toString());

        // metrics.jsonl carries the same accounting after every step; its last step's equals the result's.
        List<JsonNode> steps = new ArrayList<>();
        for (String line : Files.readAllLines(runDir.resolve("metrics.jsonl"))) {
            JsonNode node = MAPPER.readTree(line);
            if (node.has("loss")) steps.add(node);
        }
        assertEquals(STEPS, steps.size());
        for (JsonNode step : steps) {
            JsonNode shares = step.get("data");
            long drawnSoFar = shares.get("web").get("windows").asLong() + shares.get("books").get("windows").asLong();
            assertEquals(step.get("step").asLong() * 2 * 8, drawnSoFar, step.toString());
            assertEquals(1.0, shares.get("web").get("realised").asDouble() + shares.get("books").get("realised").asDouble(),
                    1e-12, step.toString());
        }
        assertEquals(drawn, steps.getLast().get("data"));
    }

    static void assertBitIdentical(Map<String, SafeTensors.Entry> a, Map<String, SafeTensors.Entry> b) {
        assertEquals(a.keySet(), b.keySet());
        for (String name : a.keySet()) assertArrayEquals(a.get(name).data(), b.get(name).data(), 0f, name);
    }
}
