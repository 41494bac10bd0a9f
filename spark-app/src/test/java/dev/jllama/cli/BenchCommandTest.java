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
        assertTrue(errors.toString(StandardCharsets.UTF_8)
                .contains("--what must be matmul, step, tokenize, allreduce or scaling"));
    }

    @Test
    void allReduceReportsBandwidthAgainstTheTcpReference() throws Exception {
        assertEquals(0, bench("bench", "--what", "allreduce", "--ranks", "2", "--sizes", "1,2", "--json"),
                errors.toString(StandardCharsets.UTF_8));
        JsonNode result = lastLine();
        assertTrue(result.get("tcp_gbps").asDouble() > 0);
        assertEquals(2, result.get("sizes").size());
        JsonNode first = result.get("sizes").get(0);
        assertEquals(1, first.get("mib").asInt());
        assertTrue(first.get("algbw_gbps").asDouble() > 0);
        // With two ranks the bus factor 2(N-1)/N is 1.
        assertEquals(first.get("algbw_gbps").asDouble(), first.get("busbw_gbps").asDouble(), 1e-9);
    }

    @Test
    void allReduceNeedsTwoToFourRanks() {
        assertEquals(2, bench("bench", "--what", "allreduce", "--ranks", "5"));
        assertTrue(errors.toString(StandardCharsets.UTF_8).contains("--ranks must be 2..4"));
    }
}
