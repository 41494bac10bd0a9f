package dev.jllama.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code submit/tasks/from_lm_eval.py} on the rows of the tasks the lm-evaluation-harness cross-check does not score
 * (PIQA, ARC, OpenBookQA; {@link LmEvalCrossCheckTest} covers BoolQ, HellaSwag, MMLU and WinoGrande), and its errors.
 */
class LmEvalConverterTest {
    private static final Path CONVERTER = ApplicationJar.ROOT.resolve("submit/tasks/from_lm_eval.py");
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    private record Run(int status, String err, List<JsonNode> lines) {}

    private Run convert(String task, String... rows) throws IOException, InterruptedException {
        Path in = Files.writeString(tmp.resolve(task + "-rows.jsonl"), String.join("\n", rows) + "\n");
        Path out = tmp.resolve(task + ".jsonl");
        Process p = new ProcessBuilder("python3", CONVERTER.toString(), task, in.toString(), out.toString()).start();
        p.getOutputStream().close();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        List<JsonNode> lines = new ArrayList<>();
        if (p.exitValue() == 0) for (String line : Files.readAllLines(out)) lines.add(JSON.readTree(line));
        return new Run(p.exitValue(), err, lines);
    }

    @Test
    void rowsBecomeItemsAsLmEvaluationHarnessRendersThem() throws Exception {
        Run piqa = convert("piqa", "{\"goal\": \"Open a jar\", \"sol1\": \"twist the lid\", \"sol2\": \"eat it\", \"label\": 1}");
        assertEquals(0, piqa.status(), piqa.err());
        assertEquals("{\"task\":{\"name\":\"piqa\",\"kind\":\"multiple_choice\",\"sampler\":\"random\"}}",
                piqa.lines().get(0).toString());
        assertEquals("{\"context\":\"Question: Open a jar\\nAnswer:\",\"choices\":[\"twist the lid\",\"eat it\"],\"label\":1}",
                piqa.lines().get(1).toString());

        Run arc = convert("arc_challenge", "{\"question\": \"What is hot?\", \"choices\": {\"text\": [\"ice\", \"fire\","
                + " \"snow\"], \"label\": [\"A\", \"B\", \"C\"]}, \"answerKey\": \"B\"}");
        assertEquals("{\"context\":\"Question: What is hot?\\nAnswer:\",\"choices\":[\"ice\",\"fire\",\"snow\"],\"label\":1}",
                arc.lines().get(1).toString());

        Run obqa = convert("openbookqa", "{\"question_stem\": \"The sun is\", \"choices\": {\"text\": [\"a rock\","
                + " \"a star\"], \"label\": [\"A\", \"B\"]}, \"answerKey\": \" B\"}");
        assertEquals("Answer:", obqa.lines().get(0).get("task").get("unconditional_context").asText());
        assertEquals("{\"context\":\"The sun is\",\"choices\":[\"a rock\",\"a star\"],\"label\":1}",
                obqa.lines().get(1).toString());
    }

    @Test
    void badRowsNameTheirLineAndMmluTakesOneSubjectAFile() throws Exception {
        Run bad = convert("piqa", "{\"goal\": \"g\", \"sol1\": \"a\", \"sol2\": \"b\", \"label\": 0}", "{\"goal\": \"g\"}");
        assertEquals(1, bad.status());
        assertTrue(bad.err().contains("piqa-rows.jsonl:2: not a piqa row of lm-evaluation-harness: KeyError: 'sol1'"),
                bad.err());
        String anatomy = "{\"question\": \"q\", \"subject\": \"anatomy\", \"choices\": [\"a\", \"b\"], \"answer\": 0}";
        Run mixed = convert("mmlu", anatomy, anatomy.replace("anatomy", "virology"));
        assertEquals(1, mixed.status());
        assertTrue(mixed.err().contains("MMLU rows of 2 subjects; convert one subject per file"), mixed.err());
    }
}
