package dev.jllama.data.prepare;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jllama.data.SparkTestSession;
import dev.jllama.data.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** prepare --annotations, --where, --from-annotations and the scorer seam, on a corpus whose fate is known. */
class AnnotationsTest {
    private static final Tokenizer TOK = Tokenizer.bundled();
    private static final String WHERE = "words >= 50 AND stop_words >= 2 AND NOT curly_bracket";

    @TempDir
    Path tmp;

    private final List<String> texts = new ArrayList<>();

    private static String words(Random r, String[] vocabulary, int n) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < n; i++) {
            b.append(vocabulary[r.nextInt(vocabulary.length)]);
            b.append(i % 12 == 11 ? ".\n" : " ");
        }
        return b.toString().strip();
    }

    /**
     * Source a: 24 documents of 120 random words, then one of 40 words, one with a curly bracket, one too short,
     * one of symbols, one empty, one Russian. Source b: an exact copy of a's document 3 and a near copy of its
     * document 5 (one word changed).
     */
    private List<String> corpus() throws IOException {
        Random r = new Random(42);
        String[] english = ("the and of to with that have be river mill stone bridge water evening morning garden"
                + " walker village harbour lantern meadow orchard chapel market tower window valley forest road field"
                + " cottage hill boat shore wind rain cloud sun moon star bird fox deer sheep horse wagon bell").split(" ");
        String[] russian = "река мост вода вечер утро сад деревня гавань фонарь луг часовня рынок башня окно долина лес дорога поле"
                .split(" ");
        for (int i = 0; i < 24; i++) texts.add(words(r, english, 120));
        texts.add("the and " + words(r, english, 38));
        texts.add(words(r, english, 60) + " {braces} " + words(r, english, 60));
        texts.add("Too short.");
        texts.add("#### $$$$ %%%% ^^^^ &&&& **** (((( )))) @@@@ !!!! ~~~~ ++++ ==== |||| <<<< >>>>");
        texts.add("");
        texts.add(words(r, russian, 120));
        StringBuilder a = new StringBuilder();
        for (String t : texts) a.append(json(t));
        String near = texts.get(5).replaceFirst(" ", " zebra ");
        Files.writeString(tmp.resolve("a.jsonl"), a.toString());
        Files.writeString(tmp.resolve("b.jsonl"), json(texts.get(3)) + json(near));
        texts.add(texts.get(3));
        texts.add(near);
        return List.of("a=" + tmp.resolve("a.jsonl"), "b=" + tmp.resolve("b.jsonl"));
    }

    private static String json(String text) throws IOException {
        return new ObjectMapper().writeValueAsString(Map.of("text", text)) + "\n";
    }

    private PrepareOptions options(List<String> inputs, String out) {
        return PrepareOptions.withTokenizer(inputs, tmp.resolve(out).toString(), TOK).valFraction(0.2).shardTokens(500)
                .partitions(3);
    }

    /** The inputs recorded with the annotations, as the command line reads them for --from-annotations. */
    private List<String> annotated() throws IOException {
        return PrepareJob.annotatedInputs(tmp.resolve("ann").toString(), new Configuration());
    }

    private static SparkSession spark() {
        return SparkSession.builder().sparkContext(SparkTestSession.get().sc()).getOrCreate();
    }

    private static long count(Map<String, Object> stats, String key) {
        return ((Number) stats.get(key)).longValue();
    }

    @Test
    void annotatingKeepsTheSameDocumentsAndRecordsEveryDocumentAndWhatRemovedIt() throws IOException {
        List<String> in = corpus();
        PrepareResult plain = PrepareJob.run(SparkTestSession.get(), options(in, "plain"), m -> {});
        PrepareResult annotated = PrepareJob.run(SparkTestSession.get(),
                options(in, "annotated").annotations(tmp.resolve("ann").toString()), m -> {});
        assertSameShards(tmp.resolve("plain"), tmp.resolve("annotated"));
        assertEquals(count(plain.stats(), "documents_kept"), count(annotated.stats(), "documents_kept"));
        assertEquals(27L, count(annotated.stats(), "documents_kept"), "24 + the 40-word, braces and Russian documents");
        assertEquals(0L, count(plain.stats(), "documents_annotated"));

        List<Row> rows = spark().read().parquet(tmp.resolve("ann").toString()).collectAsList();
        Map<String, Integer> byStep = new HashMap<>();
        for (Row row : rows) byStep.merge(String.valueOf((Object) row.getAs("removed_by")), 1, Integer::sum);
        assertEquals(32, rows.size(), "one row per document read, removed ones included: " + byStep);
        assertEquals(Map.of("null", 27, "cleanup", 1, "exact_dedup", 1, "near_dedup", 1, "quality_filter", 2), byStep);
        assertEquals(32L, count(annotated.stats(), "documents_annotated"), "every document read");
        String id3 = DocumentHash.key(DocumentHash.sha256(TextCleaner.clean(texts.get(3))));
        List<Row> copies = rows.stream().filter(x -> x.getAs("id").equals(id3)).toList();
        assertEquals(2, copies.size());
        for (Row c : copies) assertEquals(id3, c.getAs("exact_group"));
        Row kept3 = copies.stream().filter(x -> x.getAs("removed_by") == null).findFirst().orElseThrow();
        assertEquals("a", kept3.getAs("source"), "of exact copies the first by source is kept");
        List<Row> near = rows.stream().filter(x -> x.getAs("near_group") != null).toList();
        assertEquals(2, near.size(), "document 5 and its near copy share a group");
        assertEquals((Object) near.get(0).getAs("near_group"), near.get(1).getAs("near_group"));
        // The stored signals are those of the text.
        double[] expected = HeuristicSignals.compute(TextCleaner.clean(texts.get(0)));
        Row row0 = rows.stream().filter(x -> x.getAs("id").equals(DocumentHash.key(DocumentHash.sha256(
                TextCleaner.clean(texts.get(0)))))).findFirst().orElseThrow();
        assertEquals((long) expected[HeuristicSignals.index("words")], (long) row0.getAs("words"));
        assertEquals(expected[HeuristicSignals.index("mean_word_length")], (double) row0.getAs("mean_word_length"), 0);
        assertTrue(Files.exists(tmp.resolve("ann/" + AnnotationsTable.META)));
        assertTrue(Files.exists(tmp.resolve("annotated/histograms/words.png")));
        // The part files, in the order of their names, hold the rows sorted by id, source and url.
        List<String> keys = new ArrayList<>();
        try (Stream<Path> parts = Files.list(tmp.resolve("ann"))) {
            for (Path part : parts.filter(f -> f.getFileName().toString().endsWith(".parquet")).sorted().toList()) {
                for (Row r : spark().read().parquet(part.toString()).collectAsList()) {
                    keys.add(AnnotationPass.rowKey(r.getAs("id"), r.getAs("source"), r.getAs("url")));
                }
            }
        }
        assertEquals(32, keys.size());
        assertEquals(keys.stream().sorted().toList(), keys);
    }

    /**
     * Without exact dedup (near dedup removes the exact copy too), and with decontamination but no deduplication
     * (the documents reach the annotation step in read order): the same dataset as without annotating, and every
     * document a row, in order, with the step that removed it.
     */
    @Test
    void annotatingKeepsTheSameDocumentsWhicheverStepsRun() throws IOException {
        List<String> in = corpus();
        Path task = tmp.resolve("task.jsonl");
        Files.writeString(task, json(String.join(" ", List.of(texts.get(7).split(" ")).subList(10, 23)))); // 13 words
        Map<String, UnaryOperator<PrepareOptions>> variants = new java.util.TreeMap<>(Map.of(
                "near", o -> o.exactDedup(false),
                "decontaminated", o -> o.exactDedup(false).nearDedup(null).decontaminate(List.of(task.toString()), 13)));
        Map<String, Map<String, Integer>> steps = Map.of(
                "near", Map.of("null", 27, "cleanup", 1, "near_dedup", 2, "quality_filter", 2),
                "decontaminated", Map.of("null", 28, "cleanup", 1, "decontamination", 1, "quality_filter", 2));
        for (var v : variants.entrySet()) {
            String name = v.getKey();
            PrepareResult plain = PrepareJob.run(SparkTestSession.get(), v.getValue().apply(options(in, name + "-plain")), m -> {});
            PrepareResult annotated = PrepareJob.run(SparkTestSession.get(), v.getValue().apply(options(in, name))
                    .annotations(tmp.resolve(name + "-ann").toString()), m -> {});
            assertSameShards(tmp.resolve(name + "-plain"), tmp.resolve(name));
            assertEquals(count(plain.stats(), "documents_kept"), count(annotated.stats(), "documents_kept"), name);
            List<String> keys = new ArrayList<>();
            Map<String, Integer> byStep = new HashMap<>();
            try (Stream<Path> parts = Files.list(tmp.resolve(name + "-ann"))) {
                for (Path part : parts.filter(f -> f.getFileName().toString().endsWith(".parquet")).sorted().toList()) {
                    for (Row r : spark().read().parquet(part.toString()).collectAsList()) {
                        keys.add(AnnotationPass.rowKey(r.getAs("id"), r.getAs("source"), r.getAs("url")));
                        byStep.merge(String.valueOf((Object) r.getAs("removed_by")), 1, Integer::sum);
                    }
                }
            }
            assertEquals(steps.get(name), byStep, name);
            assertEquals(keys.stream().sorted().toList(), keys, name + ": rows sorted by id, source and url");
        }
    }

    /**
     * Every stage's tokens, per source, against the tokens of the cleaned texts of the documents the annotations table
     * says got past it, encoded here: with and without annotating, with every stage removing something and the line
     * filter changing texts (their tokens as cleaned count, not as written).
     */
    @Test
    void everyStageReportsTheTokensOfTheCleanedTextsItLetThrough() throws IOException {
        List<String> in = new ArrayList<>(corpus());
        Random r = new Random(7);
        String[] vocabulary = "lantern harbour meadow orchard chapel river mill stone bridge the of and".split(" ");
        List<String> c = new ArrayList<>();
        for (int i = 0; i < 4; i++) c.add(words(r, vocabulary, 80) + "\nSubscribe to our newsletter today"); // changed
        c.add("Subscribe to our newsletter today\nSubscribe to our newsletter today"); // emptied
        StringBuilder cj = new StringBuilder();
        for (String t : c) cj.append(json(t));
        Files.writeString(tmp.resolve("c.jsonl"), cj.toString());
        in.add("c=" + tmp.resolve("c.jsonl"));
        Map<String, List<String>> bySource = Map.of("a", texts.subList(0, 30), "b", texts.subList(30, 32), "c", c);
        Path task = tmp.resolve("task.jsonl");
        Files.writeString(task, json(String.join(" ", List.of(texts.get(7).split(" ")).subList(10, 23)))); // 13 words
        PrepareResult plain = PrepareJob.run(SparkTestSession.get(), options(in, "plain")
                .decontaminate(List.of(task.toString()), 13), m -> {});
        PrepareResult annotated = PrepareJob.run(SparkTestSession.get(), options(in, "annotated")
                .decontaminate(List.of(task.toString()), 13).annotations(tmp.resolve("ann").toString()), m -> {});

        // Each document's step from the table, by id and source (no source holds a text twice).
        Map<String, String> removedBy = new HashMap<>();
        for (Row row : spark().read().parquet(tmp.resolve("ann").toString()).collectAsList()) {
            removedBy.put(row.getAs("id") + " " + row.getAs("source"), row.getAs("removed_by"));
        }
        List<String> stages = List.of("read", "cleanup", "exact_dedup", "near_dedup", "decontamination", "line_filter",
                "quality_filter");
        assertEquals(stages, plain.stats().get("stages"));
        Map<String, Map<String, Long>> expected = new HashMap<>(); // source → stage → tokens
        Map<String, Integer> removedPerStep = new HashMap<>();
        for (var e : bySource.entrySet()) {
            for (String text : e.getValue()) {
                String cleaned = TextCleaner.clean(text);
                String step = removedBy.get(DocumentHash.key(DocumentHash.sha256(cleaned)) + " " + e.getKey());
                removedPerStep.merge(String.valueOf(step), 1, Integer::sum);
                long tokens = cleaned.isEmpty() ? 0 : TOK.encode(cleaned).length + 1;
                int gone = step == null ? stages.size() : stages.indexOf(step);
                for (int s = 0; s < gone; s++) expected.computeIfAbsent(e.getKey(), k -> new HashMap<>()).merge(stages.get(s), tokens, Long::sum);
            }
        }
        assertEquals(Map.of("null", 30, "cleanup", 1, "exact_dedup", 1, "near_dedup", 1, "decontamination", 1,
                "line_filter", 1, "quality_filter", 2), removedPerStep, "every stage removes something");
        for (PrepareResult result : List.of(plain, annotated)) {
            @SuppressWarnings("unchecked")
            Map<String, Map<String, Object>> sources = (Map<String, Map<String, Object>>) result.stats().get("sources");
            for (String source : bySource.keySet()) {
                @SuppressWarnings("unchecked")
                Map<String, Map<String, Object>> after = (Map<String, Map<String, Object>>) sources.get(source).get("after_stage");
                for (String stage : stages) {
                    long tokens = after.containsKey(stage) ? ((Number) after.get(stage).get("tokens")).longValue() : 0;
                    assertEquals(expected.get(source).getOrDefault(stage, 0L), tokens, source + " after " + stage);
                }
                assertEquals(expected.get(source).get("read"), sources.get(source).get("tokens_in"), source);
            }
        }
        long written = ((Number) plain.stats().get("train_tokens")).longValue() + ((Number) plain.stats().get("val_tokens")).longValue();
        long keptCleaned = expected.values().stream().mapToLong(m -> m.getOrDefault("quality_filter", 0L)).sum();
        assertTrue(written < keptCleaned, "the line filter shortened texts: " + written + " written, " + keptCleaned + " as cleaned");
    }

    @Test
    void whereInOneRunAndFromAnnotationsBuildTheSameDatasetAndCountEachClause() throws IOException {
        List<String> in = corpus();
        PrepareResult once = PrepareJob.run(SparkTestSession.get(),
                options(in, "once").annotations(tmp.resolve("ann").toString()).where(WHERE), m -> {});
        // The 40-word, the braces and the Russian documents fail the expression; the two defaults fail as before.
        assertEquals(24L, count(once.stats(), "documents_kept"));
        assertEquals(3L, count(once.stats(), "documents_removed_by_where"));
        Map<String, Long> failing = failing(once.stats());
        assertEquals(Map.of("chars >= 100", 2L, "symbol_ratio <= 0.25", 1L, "words >= 50", 3L, "stop_words >= 2", 3L,
                "NOT curly_bracket", 1L), failing);

        PrepareResult again = PrepareJob.run(SparkTestSession.get(), options(annotated(), "again")
                .fromAnnotations(tmp.resolve("ann").toString()).where(WHERE), m -> {});
        assertSameShards(tmp.resolve("once"), tmp.resolve("again"));
        assertEquals(0L, count(again.stats(), "documents_annotated"), "no signal computed");
        assertEquals(failing, failing(again.stats()));

        JsonNode report = new ObjectMapper().readTree(tmp.resolve("once/report.json").toFile());
        assertEquals(5, report.get("filter_clauses").size());
        assertEquals(3, report.get("filter_clauses").get(2).get("documents_failing").asLong());
        assertTrue(Files.size(tmp.resolve("once/histograms/words.png")) > 1000);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Long> failing(Map<String, Object> stats) {
        Map<String, Long> m = new HashMap<>();
        for (Object c : (List<Object>) stats.get("filter_clauses")) {
            Map<String, Object> clause = (Map<String, Object>) c;
            m.put((String) clause.get("clause"), ((Number) clause.get("documents_failing")).longValue());
        }
        return m;
    }

    /** A rebuild takes the stored columns as they are: a value changed in the table changes the outcome. */
    @Test
    void fromAnnotationsReadsTheStoredSignalsInsteadOfComputingThem() throws IOException {
        List<String> in = corpus();
        PrepareJob.run(SparkTestSession.get(), options(in, "first").annotations(tmp.resolve("ann").toString()), m -> {});
        String id0 = DocumentHash.key(DocumentHash.sha256(TextCleaner.clean(texts.get(0))));
        Path forged = tmp.resolve("forged");
        spark().read().parquet(tmp.resolve("ann").toString())
                .withColumn("chars", functions.when(functions.col("id").equalTo(id0), functions.lit(0L))
                        .otherwise(functions.col("chars")))
                .write().parquet(forged.toString());
        Files.copy(tmp.resolve("ann/" + AnnotationsTable.META), forged.resolve(AnnotationsTable.META));
        Files.copy(tmp.resolve("ann/" + AnnotationsTable.FREQUENT_LINES), forged.resolve(AnnotationsTable.FREQUENT_LINES));
        PrepareResult r = PrepareJob.run(SparkTestSession.get(), options(annotated(), "second")
                .fromAnnotations(forged.toString()), m -> {});
        assertEquals(26L, count(r.stats(), "documents_kept"), "document 0 now counts as 0 characters long");
        assertEquals(3L, count(r.stats(), "documents_too_short"));
    }

    @Test
    void badExpressionsFailInOneLineBeforeAnyWork() throws IOException {
        List<String> in = corpus();
        Map<String, String> cases = Map.of(
                "no_such_column > 3", "no_such_column",
                "words + 1", "not a boolean expression",
                "words >= AND", "--where",
                "perplexity_bucket = 'head'", "perplexity_bucket");
        for (var c : cases.entrySet()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PrepareJob.run(
                    SparkTestSession.get(), options(in, "never").where(c.getKey()), m -> {}), c.getKey());
            assertTrue(e.getMessage().contains(c.getValue()) && !e.getMessage().contains("\n"), e.getMessage());
            assertTrue(e.getMessage().startsWith("--where"), e.getMessage());
        }
        IllegalArgumentException q = assertThrows(IllegalArgumentException.class, () -> PrepareJob.run(
                SparkTestSession.get(), options(in, "never").minQuality(0.5), m -> {}));
        assertTrue(q.getMessage().startsWith("--min-quality") && q.getMessage().contains("quality_score"), q.getMessage());
        assertFalse(Files.exists(tmp.resolve("never")));
        try (Stream<Path> s = Files.list(tmp)) {
            assertEquals(List.of(), s.filter(p -> p.getFileName().toString().startsWith(".never")).toList());
        }
    }

    static final AtomicInteger OPENED = new AtomicInteger();
    static final AtomicInteger CLOSED = new AtomicInteger();

    /** words / chars of each text: a real computation on the executors, standing in for a classifier. */
    static final class WordsPerChar implements DocumentScorer {
        @Override
        public String column() {
            return "quality_score";
        }

        @Override
        public Scoring open(Configuration conf) {
            OPENED.incrementAndGet();
            return new Scoring() {
                @Override
                public double[] score(List<String> texts) {
                    return texts.stream().mapToDouble(WordsPerChar::of).toArray();
                }

                @Override
                public void close() {
                    CLOSED.incrementAndGet();
                }
            };
        }

        static double of(String text) {
            double[] v = HeuristicSignals.compute(text);
            return v[HeuristicSignals.index("words")] / v[HeuristicSignals.index("chars")];
        }
    }

    /** chars per word, standing in for a language model's perplexity. */
    static final class CharsPerWord implements DocumentScorer {
        @Override
        public String column() {
            return "perplexity";
        }

        @Override
        public Scoring open(Configuration conf) {
            return new Scoring() {
                @Override
                public double[] score(List<String> texts) {
                    return texts.stream().mapToDouble(t -> 1 / WordsPerChar.of(t)).toArray();
                }

                @Override
                public void close() {}
            };
        }
    }

    @Test
    void scorersFillTheirColumnsOnTheExecutorsWithTertileBucketsForPerplexity() throws IOException {
        List<String> in = corpus();
        OPENED.set(0);
        CLOSED.set(0);
        double[] english = texts.subList(0, 24).stream().mapToDouble(t -> WordsPerChar.of(TextCleaner.clean(t))).sorted()
                .toArray();
        double threshold = english[12]; // the median: about half of them fail
        PrepareResult r = PrepareJob.run(SparkTestSession.get(), options(in, "scored")
                .annotations(tmp.resolve("ann").toString()).scorers(List.of(new WordsPerChar(), new CharsPerWord()))
                .minQuality(threshold), m -> {});
        assertTrue(OPENED.get() >= 1 && OPENED.get() <= 3, "once per partition with documents to score: " + OPENED.get());
        assertEquals(OPENED.get(), CLOSED.get());

        List<Row> rows = spark().read().parquet(tmp.resolve("ann").toString()).collectAsList();
        List<Row> reached = rows.stream().filter(x -> x.getAs("removed_by") == null
                || "quality_filter".equals(x.getAs("removed_by"))).toList();
        String id0 = DocumentHash.key(DocumentHash.sha256(TextCleaner.clean(texts.get(0))));
        Row row0 = reached.stream().filter(x -> x.getAs("id").equals(id0)).findFirst().orElseThrow();
        assertEquals(WordsPerChar.of(TextCleaner.clean(texts.get(0))), (double) row0.getAs("quality_score"), 0);
        for (Row x : rows) {
            if (!reached.contains(x)) assertNull(x.getAs("perplexity"), "removed before the filter: not scored");
        }
        // Tertiles: ranks n/3 and 2n/3 of the sorted perplexities bound the buckets.
        double[] p = reached.stream().mapToDouble(x -> x.getAs("perplexity")).sorted().toArray();
        double t1 = p[p.length / 3];
        double t2 = p[2 * p.length / 3];
        assertEquals(List.of(t1, t2), r.stats().get("perplexity_tertiles"));
        for (Row x : reached) {
            double v = x.getAs("perplexity");
            assertEquals(v < t1 ? "head" : v < t2 ? "middle" : "tail", x.getAs("perplexity_bucket"));
        }
        long below = reached.stream().filter(x -> (double) x.getAs("quality_score") < threshold).count();
        assertTrue(below > 0, "the threshold removes something");
        assertEquals(below, failing(r.stats()).get("quality_score >= " + threshold));
        assertNotNull(Files.exists(tmp.resolve("scored/histograms/quality_score.png")));
        assertTrue(Files.exists(tmp.resolve("scored/histograms/perplexity.png")));
    }

    private static void assertSameShards(Path a, Path b) throws IOException {
        List<Path> fa = shardFiles(a);
        assertEquals(fa, shardFiles(b));
        assertTrue(fa.size() >= 2, fa.toString());
        for (Path f : fa) assertArrayEquals(Files.readAllBytes(a.resolve(f)), Files.readAllBytes(b.resolve(f)), f.toString());
    }

    private static List<Path> shardFiles(Path root) throws IOException {
        try (Stream<Path> s = Files.walk(root)) {
            return s.filter(Files::isRegularFile).map(root::relativize)
                    .filter(p -> p.toString().endsWith(".bin") || p.toString().endsWith(".model")).sorted().toList();
        }
    }
}
