package dev.jllama.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `llama train` through the command line on a small prepared dataset: what the checkpoint records of the run. */
class TrainCommandTest {
    @TempDir
    Path tmp;

    @Test
    void checkpointRecordsLlamasScheduleWithTheTenPercentFloor() throws Exception {
        Path data = tmp.resolve("data");
        CommandLineRun.json("prepare", "--input", PrepareCommandTest.writeCorpus(tmp.resolve("corpus.txt"), 40).toString(),
                "--output", data.toString(), "--master", "local[2]", "--json");
        JsonNode result = CommandLineRun.json("train", "--data", data.toString(), "--out", tmp.resolve("run").toString(),
                "--model", "tiny", "--steps", "6", "--warmup", "1", "--micro-batch", "2", "--seq-len", "16",
                "--backend", "cpu", "--threads", "1", "--eval-batches", "0", "--checkpoint-every", "0", "--json");
        assertEquals(6, result.get("steps").asInt());
        Path checkpoint = Path.of(URI.create(result.get("checkpoint").asText()));
        assertEquals("step-00000006", checkpoint.getFileName().toString());
        JsonNode state = new ObjectMapper().readTree(checkpoint.resolve("state.json").toFile());
        JsonNode options = state.get("options");
        assertEquals(0.1, options.get("min_lr_ratio").asDouble(), "cosine decay to 10 % of the peak");
        assertEquals(1, options.get("warmup_steps").asInt());
        assertEquals(6, options.get("steps").asInt());
        assertEquals(3e-3, options.get("peak_lr").asDouble(), "tiny's peak learning rate");
        assertEquals(6, state.get("step").asInt());
    }

    /**
     * {@code --precision bf16} reaches the rank's backend: the same seed, data and steps end at another loss than
     * fp32 (bf16 products change the bits) that is within 1 % of it (they compute the same model).
     */
    @Test
    void precisionReachesTheRanks() throws Exception {
        Path data = tmp.resolve("data");
        CommandLineRun.json("prepare", "--input", PrepareCommandTest.writeCorpus(tmp.resolve("corpus.txt"), 40).toString(),
                "--output", data.toString(), "--master", "local[2]", "--json");
        double[] losses = new double[2];
        String[] precisions = {"fp32", "bf16"};
        for (int i = 0; i < 2; i++) {
            losses[i] = CommandLineRun.json("train", "--data", data.toString(), "--out",
                    tmp.resolve("run-" + precisions[i]).toString(), "--model", "tiny", "--steps", "4", "--warmup", "1",
                    "--micro-batch", "2", "--seq-len", "32", "--backend", "cpu", "--threads", "1", "--eval-batches", "0",
                    "--checkpoint-every", "0", "--precision", precisions[i], "--json").get("final_loss").asDouble();
        }
        assertNotEquals(losses[0], losses[1], "bf16 trained bit for bit as fp32 did");
        assertEquals(losses[0], losses[1], 0.01 * losses[0]);
    }
}
