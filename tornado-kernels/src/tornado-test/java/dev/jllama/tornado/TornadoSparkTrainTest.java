package dev.jllama.tornado;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jllama.cli.Main;
import dev.jllama.data.prepare.BundledCorpus;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * `llama train --backend tornado` through the launcher's entry point, on local Spark in this JVM with the SDK's
 * flags (as submit/llama runs it): Spark starts next to the TornadoVM modules (whose Log4j2 jars once shadowed the
 * class path's and broke SparkConf), two ranks each open a TornadoVM backend on the same device, their parameters
 * agree at every step, and the loss equals the CPU backend's on the same run.
 */
class TornadoSparkTrainTest {
    @TempDir
    Path work;

    private static JsonNode train(String... args) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        String stdout = out.toString(StandardCharsets.UTF_8);
        System.out.print(stdout);
        assertEquals(0, status, "exit status; stderr: " + err.toString(StandardCharsets.UTF_8) + "\nstdout: " + stdout);
        String[] lines = stdout.strip().split("\n");
        return new ObjectMapper().readTree(lines[lines.length - 1]);
    }

    private JsonNode train(String data, String backend) throws Exception {
        return train("train", "--data", data, "--out", work.resolve(backend).toString(), "--backend", backend,
                "--ranks", "2", "--steps", "4", "--seq-len", "64", "--micro-batch", "4", "--threads", "1",
                "--check-every", "1", "--checkpoint-every", "0", "--eval-batches", "1", "--json");
    }

    @Test
    void twoRanksTrainOnTheTornadoBackendAsOnTheCpu() throws Exception {
        // Prepared once under target/ and reused by later runs.
        String data = BundledCorpus.prepare(Path.of("target", "bundled-corpus")).toString();
        JsonNode tornado = train(data, "tornado");
        assertEquals("tornado", tornado.get("backend").asText());
        assertEquals(2, tornado.get("ranks").asInt());
        assertEquals(4, tornado.get("steps").asInt());
        JsonNode cpu = train(data, "cpu");
        assertEquals("cpu", cpu.get("backend").asText());
        double expected = cpu.get("final_loss").asDouble();
        double actual = tornado.get("final_loss").asDouble();
        assertTrue(Double.isFinite(actual) && Math.abs(actual - expected) <= 1e-4 * expected,
                "final loss on TornadoVM " + actual + " vs CPU " + expected);
        assertEquals(cpu.get("val_loss").asDouble(), tornado.get("val_loss").asDouble(), 1e-4 * expected);
    }
}
