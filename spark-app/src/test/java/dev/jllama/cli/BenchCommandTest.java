package dev.jllama.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** `llama bench` through the launcher's entry point: exit status, progress lines and the --json result. */
class BenchCommandTest {
    private final ByteArrayOutputStream printed = new ByteArrayOutputStream();
    private final ByteArrayOutputStream errors = new ByteArrayOutputStream();

    private int bench(String... argv) {
        return Main.run(argv, new PrintStream(printed, true, StandardCharsets.UTF_8),
                new PrintStream(errors, true, StandardCharsets.UTF_8));
    }

    private JsonNode lastLine() throws Exception {
        String[] lines = printed.toString(StandardCharsets.UTF_8).strip().split("\n");
        return new ObjectMapper().readTree(lines[lines.length - 1]);
    }

    @Test
    void stepReportsThroughputMemoryAndAProfile() throws Exception {
        assertEquals(0, bench("bench", "--what", "step", "--model", "tiny", "--batch", "2", "--seq-len", "32",
                "--steps", "1", "--profile", "--backend", "cpu", "--json"));
        JsonNode result = lastLine();
        assertEquals("step", result.get("what").asText());
        JsonNode tiny = result.get("models").get(0);
        assertEquals(360_768, tiny.get("parameters").asLong());
        assertTrue(tiny.get("tokens_per_s").asDouble() > 0);
        assertTrue(tiny.get("activation_bytes").asLong() > 0);
        // An untrained model predicts close to uniformly over the 4096-piece vocabulary: ln 4096 = 8.32.
        assertEquals(Math.log(4096), tiny.get("loss").asDouble(), 0.05);
        String text = printed.toString(StandardCharsets.UTF_8);
        assertTrue(text.contains("matmul") && text.contains("calls/step"), text);
    }

    @Test
    void matmulReportsEveryShapeAndForm() throws Exception {
        assertEquals(0, bench("bench", "--what", "matmul", "--model", "tiny", "--batch", "1", "--seq-len", "64",
                "--steps", "1", "--backend", "cpu", "--json"));
        JsonNode result = lastLine();
        assertEquals(15, result.get("shapes").size(), "5 layer shapes x 3 forms");
        assertTrue(result.get("gflops").asDouble() > 0);
        assertEquals(64, result.get("shapes").get(0).get("m").asInt());
    }

    @Test
    void unknownBenchmarkIsAUsageError() {
        assertEquals(2, bench("bench", "--what", "nonsense"));
        assertTrue(errors.toString(StandardCharsets.UTF_8).contains("--what must be matmul, step or tokenize"));
    }
}
