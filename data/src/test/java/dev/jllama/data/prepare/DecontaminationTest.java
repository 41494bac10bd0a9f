package dev.jllama.data.prepare;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jllama.data.SparkTestSession;
import dev.jllama.data.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Removal of training documents that share a 13-word n-gram with an evaluation item, counted per task file. */
class DecontaminationTest {
    private static final SyntheticText TEXT = new SyntheticText(3, 5000);
    private static final List<String> CONTEXT = TEXT.words(20);
    private static final List<String> CHOICE = TEXT.words(15);

    @TempDir
    Path tmp;

    private static String words(List<String> w, int from, int to) {
        return String.join(" ", w.subList(from, to));
    }

    /** Task 1 holds the context, task 2 the choice and an item too short to match anything. */
    private List<String> taskFiles() throws IOException {
        Path one = Files.writeString(tmp.resolve("one.jsonl"), "{\"context\": \"" + words(CONTEXT, 0, 20)
                + "\", \"choices\": [\"yes\", \"no\"], \"label\": 0}\n\n");
        Path two = Files.writeString(tmp.resolve("two.jsonl"), "{\"context\": \"short\", \"choices\": [\""
                + words(CHOICE, 0, 15) + "\", \"other\"], \"label\": 1}\n{\"context\": \"yes\", \"choices\": [\"no\"]}\n");
        return List.of(one.toString(), two.toString());
    }

    /** Documents: [0] 13 words of the context (changed case and punctuation), [1] only 12 of them, [2] 13 of the
     * choice, [3] both, [4] unrelated. */
    private static List<String> documents() {
        String a = words(CONTEXT, 3, 16).toUpperCase().replace(" ", ", ");
        return List.of(TEXT.document(30) + " " + a + " " + TEXT.document(10),
                TEXT.document(30) + " " + words(CONTEXT, 3, 15) + " " + TEXT.document(10),
                words(CHOICE, 1, 14) + " " + TEXT.document(20),
                words(CHOICE, 2, 15) + ". " + words(CONTEXT, 7, 20),
                TEXT.document(40));
    }

    @Test
    void removesDocumentsSharingAnNgramAndCountsPerTaskFile() throws IOException {
        Decontamination.Tasks tasks = Decontamination.load(taskFiles(), 13, new Configuration());
        assertArrayEquals(new long[] {1, 2}, tasks.items());
        assertArrayEquals(new long[] {0, 1}, tasks.itemsTooShort());
        List<Doc> docs = documents().stream().map(t -> Doc.of(new Document("s", "f", t))).toList();
        Decontamination.Result r = Decontamination.apply(SparkTestSession.get(), SparkTestSession.get().parallelize(docs, 3), tasks);
        assertEquals(List.of(docs.get(1), docs.get(4)), r.kept().collect().stream().sorted(java.util.Comparator.comparing(docs::indexOf)).toList());
        assertArrayEquals(new long[] {2, 2}, r.removedPerTask());
        assertEquals(3, r.removed());
        // 12-grams reach the document that shares only 12 words.
        assertEquals(1, Decontamination.contamination(docs.get(1).text(), Decontamination.load(taskFiles(), 12, new Configuration())));
    }

    @Test
    void theJobReportsDecontaminatedDocumentsPerTaskFile() throws IOException {
        StringBuilder corpus = new StringBuilder();
        for (String d : documents()) corpus.append(d).append("\n\n");
        Path in = Files.writeString(tmp.resolve("corpus.txt"), corpus.toString());
        List<String> tasks = taskFiles();
        PrepareOptions o = PrepareOptions.withTokenizer(List.of(in.toString()), tmp.resolve("ds").toString(), Tokenizer.bundled())
                .quality(new QualityFilter(20, 0.25)).decontaminate(tasks, 13);
        Map<String, Object> s = PrepareJob.run(SparkTestSession.get(), o, m -> {}).stats();
        assertEquals(3L, ((Number) s.get("decontaminated")).longValue());
        assertEquals(2L, ((Number) s.get("documents_kept")).longValue());
        String summary = s.get("decontamination").toString();
        assertTrue(summary.contains("one.jsonl={") && summary.contains("documents_removed=2") && summary.contains("ngram_words=13"), summary);
    }
}
