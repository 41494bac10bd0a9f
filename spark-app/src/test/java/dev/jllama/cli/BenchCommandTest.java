package dev.jllama.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
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
        assertEquals("cpu", result.get("backend").asText());
        assertEquals(1, result.get("models").size());
        JsonNode tiny = result.get("models").get(0);
        assertEquals("tiny", tiny.get("model").asText());
        assertEquals(360_768, tiny.get("parameters").asLong());
        assertEquals(2, tiny.get("batch").asInt());
        assertEquals(32, tiny.get("seq_len").asInt());
        // tokens/s is the step's 2 x 32 tokens over the measured seconds per step.
        assertEquals(64, tiny.get("tokens_per_s").asDouble() * tiny.get("seconds_per_step").asDouble(), 1e-6);
        assertEquals(tiny.get("tokens_per_s").asDouble(), result.get("tokens_per_s").asDouble());
        // MFU: tiny's 6 x 360,448 matrix elements + 6 x 2 layers x 32 positions x 64 wide FLOPs per token.
        assertEquals((6.0 * 360_448 + 6.0 * 2 * 32 * 64) * tiny.get("tokens_per_s").asDouble()
                / tiny.get("peak_flops").asDouble(), tiny.get("mfu").asDouble(), 1e-12);
        assertEquals(tiny.get("mfu"), result.get("mfu"));
        // At least the float32 logits of the step's 64 positions over the 4096-piece vocabulary.
        assertTrue(tiny.get("activation_bytes").asLong() >= 64L * 4096 * 4, tiny.toString());
        // An untrained model predicts close to uniformly over the 4096-piece vocabulary: ln 4096 = 8.32.
        assertEquals(Math.log(4096), tiny.get("loss").asDouble(), 0.05);
        String text = printed.toString(StandardCharsets.UTF_8);
        assertTrue(text.contains("matmul") && text.contains("calls/step"), text);
    }

    @Test
    void matmulReportsEveryShapeAndFormOfTheModel() throws Exception {
        assertEquals(0, bench("bench", "--what", "matmul", "--model", "tiny", "--batch", "1", "--seq-len", "64",
                "--steps", "1", "--backend", "cpu", "--json"));
        JsonNode result = lastLine();
        // tiny: dim 64, 2 kv heads of 16, feed-forward 192, vocabulary 4096; 1 x 64 rows.
        List<String> expected = new ArrayList<>();
        for (String shape : List.of("attention.wq/wo 64 64", "attention.wk/wv 64 32", "feed_forward.w1/w3 64 192",
                "feed_forward.w2 192 64", "output 64 4096")) {
            String[] p = shape.split(" ");
            for (String form : List.of("forward", "backward-input", "backward-weight")) {
                expected.add(p[0] + " " + form + " m=64 k=" + p[1] + " n=" + p[2]);
            }
        }
        List<String> reported = new ArrayList<>();
        double slowest = Double.MAX_VALUE, fastest = 0;
        for (JsonNode s : result.get("shapes")) {
            reported.add(s.get("layer").asText() + " " + s.get("form").asText() + " m=" + s.get("m").asInt()
                    + " k=" + s.get("k").asInt() + " n=" + s.get("n").asInt());
            slowest = Math.min(slowest, s.get("gflops").asDouble());
            fastest = Math.max(fastest, s.get("gflops").asDouble());
        }
        assertEquals(expected, reported);
        // Overall is total flops over total time: between the slowest and the fastest shape.
        double overall = result.get("gflops").asDouble();
        assertTrue(slowest > 0 && slowest <= overall && overall <= fastest, slowest + " <= " + overall + " <= " + fastest);
        // The kernel that ran is named, and OpenBLAS alone (its natives ship for linux-x86_64) ran beside it.
        assertTrue(result.get("device").asText().contains("matmul " + result.get("kernel").asText()), result.toString());
        if (System.getProperty("os.name").startsWith("Linux") && System.getProperty("os.arch").equals("amd64")) {
            assertTrue(result.get("kernel").asText().startsWith("openblas 0.3."), result.toString());
            assertTrue(result.get("openblas").asText().matches("openblas 0\\.3\\.\\d+ \\(\\w+\\), \\d+ threads"),
                    result.toString());
            assertEquals(3, result.get("ratio_per_round").size(), result.toString());
            for (JsonNode s : result.get("shapes")) assertTrue(s.get("openblas_gflops").asDouble() > 0, s.toString());
        }
    }

    /** PyTorch on the same shapes and the same model code, through the Python CI provides in JLLAMA_HF_PYTHON. */
    @Test
    void pytorchBaselinesRunBesideOurs() throws Exception {
        String python = System.getenv("JLLAMA_HF_PYTHON");
        assumeTrue(python != null, "JLLAMA_HF_PYTHON (a Python with PyTorch, set by .ci/run) is not set");
        assertEquals(0, bench("bench", "--what", "matmul", "--model", "tiny", "--batch", "1", "--seq-len", "64",
                "--steps", "1", "--rounds", "1", "--threads", "1", "--python", python, "--json"),
                errors.toString(StandardCharsets.UTF_8));
        JsonNode matmul = lastLine();
        assertTrue(matmul.get("torch").asText().startsWith("torch 2."), matmul.toString());
        assertEquals(15, matmul.get("shapes").size());
        for (JsonNode s : matmul.get("shapes")) assertTrue(s.get("torch_gflops").asDouble() > 0, s.toString());

        printed.reset();
        assertEquals(0, bench("bench", "--what", "step", "--model", "tiny,tiny", "--batch", "2,1", "--seq-len", "16",
                "--steps", "1", "--threads", "1", "--python", python, "--json"), errors.toString(StandardCharsets.UTF_8));
        JsonNode step = lastLine();
        assertEquals(1, step.get("threads").asInt());
        assertEquals(2, step.get("models").get(0).get("batch").asInt());
        assertEquals(1, step.get("models").get(1).get("batch").asInt());
        for (JsonNode m : step.get("models")) {
            double ours = m.get("tokens_per_s").asDouble(), torch = m.get("torch_tokens_per_s_per_round").get(0).asDouble();
            assertTrue(torch > 0, m.toString());
            assertEquals(ours / torch, m.get("ratio_per_round").get(0).asDouble(), 1e-9, m.toString());
        }
    }

    /** bf16 against the same backend in fp32, round by round; the device line names the bf16 kernel. */
    @Test
    void stepInBf16IsMeasuredAgainstFp32() throws Exception {
        assertEquals(0, bench("bench", "--what", "step", "--model", "tiny", "--batch", "2", "--seq-len", "32",
                "--steps", "1", "--rounds", "2", "--backend", "cpu", "--threads", "1", "--precision", "bf16", "--json"),
                errors.toString(StandardCharsets.UTF_8));
        JsonNode result = lastLine();
        assertEquals("bf16", result.get("precision").asText());
        assertTrue(result.get("device").asText().contains("matmul bf16 "), result.toString());
        JsonNode tiny = result.get("models").get(0);
        double[] ratios = new double[2];
        for (int round = 0; round < 2; round++) {
            ratios[round] = tiny.get("tokens_per_s_per_round").get(round).asDouble()
                    / tiny.get("fp32_tokens_per_s_per_round").get(round).asDouble();
        }
        java.util.Arrays.sort(ratios);
        for (int round = 0; round < 2; round++) {
            assertEquals(ratios[round], tiny.get("over_fp32_per_round").get(round).asDouble(), 1e-9, tiny.toString());
        }
        assertEquals(2, bench("bench", "--what", "step", "--precision", "fp16"));
        assertTrue(errors.toString(StandardCharsets.UTF_8).contains("--precision must be one of fp32, bf16, got 'fp16'"),
                errors.toString(StandardCharsets.UTF_8));
    }

    @Test
    void stepBatchesMustMatchTheModels() {
        assertEquals(2, bench("bench", "--what", "step", "--model", "tiny,15M", "--batch", "1,2,3"));
        assertTrue(errors.toString(StandardCharsets.UTF_8).contains("--batch must be one number or one per --model"),
                errors.toString(StandardCharsets.UTF_8));
    }

    /** The GPU goals' smallest shape by name: 15M at 32 sequences of 256, on the CPU backend here. */
    @Test
    void stepRunsANamedShape() throws Exception {
        assertEquals(0, bench("bench", "--what", "step", "--shape", "gpu-15M", "--steps", "1", "--threads", "2",
                "--backend", "cpu", "--json"), errors.toString(StandardCharsets.UTF_8));
        JsonNode m = lastLine().get("models").get(0);
        assertEquals("gpu-15M", m.get("shape").asText());
        assertEquals("15M", m.get("model").asText());
        assertEquals(32, m.get("batch").asInt());
        assertEquals(256, m.get("seq_len").asInt());
        assertEquals(32 * 256, m.get("tokens_per_s").asDouble() * m.get("seconds_per_step").asDouble(), 1e-6);
    }

    @Test
    void unknownShapesAndShapesWithAModelAreUsageErrors() {
        assertEquals(2, bench("bench", "--what", "step", "--shape", "gpu-15M,gpu-7B"));
        assertTrue(errors.toString(StandardCharsets.UTF_8)
                .contains("--shape: unknown shape 'gpu-7B': the shapes are gpu-15M, gpu-110M, gpu-1.1B"),
                errors.toString(StandardCharsets.UTF_8));
        assertEquals(2, bench("bench", "--what", "step", "--shape", "gpu-15M", "--batch", "2"));
        assertTrue(errors.toString(StandardCharsets.UTF_8).contains("give it without --model, --batch and --seq-len"),
                errors.toString(StandardCharsets.UTF_8));
    }

    @Test
    void unknownBenchmarkIsAUsageError() {
        assertEquals(2, bench("bench", "--what", "nonsense"));
        assertTrue(errors.toString(StandardCharsets.UTF_8)
                .contains("--what must be one of matmul, step, tokenize, allreduce, scaling, prepare, annotate, perplexity, got 'nonsense'"));
    }

    @Test
    void prepareTakesOnlyItsOwnOptions() {
        assertEquals(2, bench("bench", "--what", "prepare", "--model", "tiny"));
        assertTrue(errors.toString(StandardCharsets.UTF_8)
                .contains("--model does not apply to --what prepare (it takes --sizes, --master, --work, --no-stage-tokens)"),
                errors.toString(StandardCharsets.UTF_8));
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
    void testHostOptionsGoTogether() {
        assertEquals(2, bench("bench", "--what", "allreduce", "--link-gbps", "1"));
        assertTrue(errors.toString(StandardCharsets.UTF_8).contains("--link-gbps applies to test hosts: add --hosts N"),
                errors.toString(StandardCharsets.UTF_8));
        errors.reset();
        assertEquals(2, bench("bench", "--what", "scaling", "--hosts", "2", "--ranks", "2"));
        assertTrue(errors.toString(StandardCharsets.UTF_8).contains("give --hosts or --ranks, not both"),
                errors.toString(StandardCharsets.UTF_8));
        errors.reset();
        assertEquals(2, bench("bench", "--what", "step", "--hosts", "2"));
        assertTrue(errors.toString(StandardCharsets.UTF_8).contains("--hosts does not apply to --what step"),
                errors.toString(StandardCharsets.UTF_8));
    }

    @Test
    void allReduceNeedsTwoToFourRanks() {
        assertEquals(2, bench("bench", "--what", "allreduce", "--ranks", "5"));
        assertTrue(errors.toString(StandardCharsets.UTF_8).contains("--ranks must be from 2 to 4 for --what allreduce, got 5"));
    }
}
