package dev.jllama.model.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.StringReader;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The prompts a task file makes, as text: what lm-evaluation-harness's fewshot_context and requests would hold. */
class FewShotTaskTest {
    /** The (context, continuation) pairs asked for, in order. */
    private static List<String[]> pairs(FewShotTask task, int shots, long seed) {
        List<String[]> pairs = new ArrayList<>();
        task.requests(shots, seed, (context, continuation) -> {
            pairs.add(new String[] {context, continuation});
            return new MultipleChoice.Request(new int[] {1}, new int[] {2});
        });
        return pairs;
    }

    private static FewShotTask read(String... lines) throws Exception {
        return FewShotTask.read("t.jsonl", new BufferedReader(new StringReader(String.join("\n", lines))));
    }

    @Test
    void mmluPromptsHaveTheDescriptionLetteredChoicesAndTheFirstExemplars() throws Exception {
        FewShotTask task = read(
                "{\"task\": {\"kind\": \"mmlu\", \"description\": \"About birds.\\n\\n\", \"sampler\": \"first_n\"}}",
                "{\"question\": \" What flies? \", \"choices\": [\"stone\", \"bird\"], \"label\": 1}",
                "{\"question\": \"What sings?\", \"choices\": [\"robin\", \"rock\"], \"label\": 0, \"fewshot\": true}",
                "{\"question\": \"What swims?\", \"choices\": [\"duck\", \"cup\"], \"label\": 0, \"fewshot\": true}");
        List<String[]> pairs = pairs(task, 1, 0);
        String context = "About birds.\n\nWhat sings?\nA. robin\nB. rock\nAnswer: A\n\nWhat flies?\nA. stone\nB. bird\nAnswer:";
        assertArrayEquals(new String[] {context, " A"}, pairs.get(0));
        assertArrayEquals(new String[] {context, " B"}, pairs.get(1));
        assertEquals(2, pairs.size());
    }

    @Test
    void winograndeScoresTheSharedRestAfterEachPartialSentence() throws Exception {
        FewShotTask task = read("{\"task\": {\"kind\": \"winogrande\", \"fewshot_delimiter\": \"\\n\"}}",
                "{\"sentence\": \"Ann beat Bo because _ was fast.\", \"options\": [\"Ann\", \"Bo\"], \"label\": 0}",
                "{\"sentence\": \"The cup broke since _ fell.\", \"options\": [\"it\", \"Bo\"], \"label\": 1}");
        List<String[]> pairs = pairs(task, 1, 0);
        // The second item is the first one's exemplar, filled with its right option: never the item itself.
        assertArrayEquals(new String[] {"The cup broke since Bo fell.\nAnn beat Bo because Ann", " was fast."}, pairs.get(0));
        assertArrayEquals(new String[] {"The cup broke since Bo fell.\nAnn beat Bo because Bo", " was fast."}, pairs.get(1));
        assertArrayEquals(new String[] {"Ann beat Bo because Ann was fast.\nThe cup broke since it", " fell."}, pairs.get(2));
        assertArrayEquals(new int[] {"Ann beat Bo because Ann".length(), "Ann beat Bo because Bo".length()},
                task.items().get(0).normChars());
    }

    @Test
    void randomExemplarsFollowTheSeedAndUnconditionalRequestsFollowEachItem() throws Exception {
        List<String> lines = new ArrayList<>(List.of("{\"task\": {\"unconditional_context\": \"Answer:\","
                + " \"target_delimiter\": \"=\"}}"));
        for (int i = 0; i < 12; i++) {
            lines.add("{\"context\": \"q" + i + "\", \"choices\": [\"a" + i + "\", \"b" + i + "\"], \"label\": 1}");
        }
        FewShotTask task = read(lines.toArray(String[]::new));
        List<String[]> first = pairs(task, 3, 5), again = pairs(task, 3, 5), other = pairs(task, 3, 6);
        assertEquals(12 * 4, first.size());
        for (int i = 0; i < first.size(); i++) assertArrayEquals(first.get(i), again.get(i));
        assertNotEquals(first.get(0)[0], other.get(0)[0]);
        for (int i = 0; i < 12; i++) {
            String context = first.get(4 * i)[0];
            assertTrue(context.endsWith("q" + i), context);
            assertEquals(4, context.split("\n\n").length, "three exemplars and the question: " + context);
            assertTrue(!context.substring(0, context.length() - ("q" + i).length()).contains("q" + i + "=b" + i),
                    "an item is not its own exemplar: " + context);
            // Each choice's conditional request, then its unconditional one.
            assertArrayEquals(new String[] {"Answer:", "=a" + i}, first.get(4 * i + 1));
            assertArrayEquals(new String[] {context, "=b" + i}, first.get(4 * i + 2));
            assertArrayEquals(new String[] {"Answer:", "=b" + i}, first.get(4 * i + 3));
        }
    }

    @Test
    void badFilesNameTheirLine() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> read(
                "{\"context\": \"x\", \"choices\": [\"a\", \"b\"], \"label\": 0}", "{\"task\": {}}"));
        assertEquals("t.jsonl:2: \"task\" settings must be the first line", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> read("{\"task\": {\"shots\": 5}}"));
        assertTrue(e.getMessage().startsWith("t.jsonl:1: unknown task setting \"shots\""), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> read("{\"task\": {\"kind\": \"winogrande\","
                + " \"unconditional_context\": \"Answer:\"}}"));
        assertTrue(e.getMessage().startsWith("t.jsonl:1: \"unconditional_context\" does not apply"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> read("{\"task\": {\"kind\": \"mmlu\"}}",
                "{\"question\": \"q\", \"choices\": [\"a\", \"\"], \"label\": 0}"));
        assertEquals("t.jsonl:2: choices 1 must be a non-empty string", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> read("{\"task\": {\"name\": \"empty\"}}"));
        assertEquals("t.jsonl: no items", e.getMessage());
    }
}
