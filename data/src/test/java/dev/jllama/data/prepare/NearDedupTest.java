package dev.jllama.data.prepare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jllama.data.SparkTestSession;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.storage.StorageLevel;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import scala.Tuple2;

/**
 * Exact and near-duplicate removal on a generated corpus with planted copies: distinct documents, pairs of
 * related documents that share half their text (distinct, must stay), copies with about 1 % of their words
 * changed, and exact copies (some differing only in whitespace) from other sources.
 */
class NearDedupTest {
    private static final int DISTINCT = 2000;
    private static final int RELATED = 200;
    private static final int NEAR_COPIES = 300;
    private static final int EXACT_COPIES = 200;

    /** group → cleaned documents; a group holds an original and its planted copies, or one distinct document. */
    private static final Map<Integer, List<Doc>> groups = new HashMap<>();
    private static final List<Doc> all = new ArrayList<>();
    private static final Set<Integer> nearGroups = new HashSet<>();
    private static final Set<Integer> exactGroups = new HashSet<>();

    @BeforeAll
    static void plant() {
        SyntheticText text = new SyntheticText(7, 20_000);
        List<List<String>> originals = new ArrayList<>();
        for (int g = 0; g < DISTINCT; g++) {
            List<String> words = text.words(100 + text.nextInt(400));
            if (g >= DISTINCT - RELATED) { // shares its first half with the previous document, nothing more
                List<String> prev = originals.get(g - 1);
                words = new ArrayList<>(prev.subList(0, prev.size() / 2));
                words.addAll(text.words(prev.size() - prev.size() / 2));
            }
            originals.add(words);
            add(g, "web", "https://example.org/" + g, SyntheticText.prose(words));
        }
        for (int i = 0; i < NEAR_COPIES; i++) {
            int g = i * 5;
            List<String> words = originals.get(g);
            nearGroups.add(g);
            add(g, "mirror", "https://mirror.example/" + i, SyntheticText.prose(text.changed(words, Math.max(1, words.size() / 100))));
        }
        for (int i = 0; i < EXACT_COPIES; i++) {
            int g = i * 5 + 1; // never a group with a near copy (multiples of 5)
            exactGroups.add(g);
            String copy = SyntheticText.prose(originals.get(g));
            add(g, "books", "file:/books/" + i, i % 2 == 0 ? copy : copy.replace(" ", "  \t"));
        }
    }

    private static void add(int group, String source, String location, String raw) {
        Doc d = Doc.of(new Document(source, location, TextCleaner.clean(raw)));
        groups.computeIfAbsent(group, k -> new ArrayList<>()).add(d);
        all.add(d);
    }

    private static Set<Doc> run(int partitions, boolean exact, NearDedupOptions near) {
        return run(all, partitions, exact, near);
    }

    private static Set<Doc> run(List<Doc> input, int partitions, boolean exact, NearDedupOptions near) {
        JavaSparkContext sc = SparkTestSession.get();
        JavaRDD<Doc> docs = sc.parallelize(input, partitions);
        if (exact) docs = ExactDedup.apply(docs, partitions);
        if (near != null) docs = NearDedup.apply(docs.persist(StorageLevel.MEMORY_ONLY()), near, partitions, exact, false);
        List<Doc> kept = docs.collect();
        // Marking instead of dropping (for counting what each step removed): the same documents kept, in the same
        // order, and every other one there, tagged by the step that removed it.
        JavaRDD<Doc> marked = sc.parallelize(input, partitions);
        if (exact) marked = ExactDedup.marked(marked, partitions).persist(StorageLevel.MEMORY_ONLY());
        List<Doc> exactOut = marked.collect();
        if (exact) marked = marked.filter(d -> d.removedBy() == null);
        if (near != null) marked = NearDedup.apply(marked.persist(StorageLevel.MEMORY_ONLY()), near, partitions, exact, true);
        List<Doc> nearOut = near == null ? List.of() : marked.collect();
        List<Doc> all = near == null ? exactOut : nearOut;
        assertEquals(kept, all.stream().filter(d -> d.removedBy() == null).toList(), "marking keeps what dropping keeps");
        long exactTagged = exactOut.stream().filter(d -> "exact_dedup".equals(d.removedBy())).count();
        long nearTagged = nearOut.stream().filter(d -> "near_dedup".equals(d.removedBy())).count();
        assertEquals(input.size(), kept.size() + exactTagged + nearTagged, "every document kept or tagged");
        return new HashSet<>(kept);
    }

    /** Of each planted group, the share with exactly one document left; of distinct documents, the share kept. */
    private static double[] quality(Set<Doc> kept, Set<Integer> planted) {
        int removedAsCopies = 0;
        int distinctKept = 0;
        int distinct = 0;
        for (Map.Entry<Integer, List<Doc>> g : groups.entrySet()) {
            long left = g.getValue().stream().filter(kept::contains).count();
            if (planted.contains(g.getKey())) {
                if (left == 1) removedAsCopies++;
                assertTrue(left >= 1, "a whole group vanished: " + g.getKey());
            } else if (g.getValue().size() == 1) {
                distinct++;
                if (left == 1) distinctKept++;
            }
        }
        return new double[] {(double) removedAsCopies / planted.size(), (double) distinctKept / distinct};
    }

    @Test
    void exactDedupRemovesEveryExactCopyAndKeepsTheFirstBySourceAndLocation() {
        Set<Doc> kept = run(3, true, null);
        double[] q = quality(kept, exactGroups);
        System.out.printf("exact copies: %.2f %% removed, %.2f %% of distinct documents kept%n", 100 * q[0], 100 * q[1]);
        assertEquals(1.0, q[0], "every exact copy removed");
        assertEquals(1.0, q[1], "every distinct document kept");
        for (int g : exactGroups) {
            Doc left = groups.get(g).stream().filter(kept::contains).findFirst().orElseThrow();
            assertEquals("books", left.source(), "'books' sorts before 'web': the copy from books is kept");
        }
        assertEquals(all.size() - EXACT_COPIES, kept.size(), "near copies are not exact copies");
    }

    @Test
    void nearDedupRemovesCopiesWithOnePercentChangedAndKeepsDistinctAndHalfSharedDocuments() {
        Set<Doc> one = run(1, true, NearDedupOptions.DEFAULT);
        Set<Doc> four = run(4, true, NearDedupOptions.DEFAULT);
        assertEquals(one, four, "the same documents are kept for any partitioning");
        List<Doc> moved = all.stream().map(d -> new Doc(d.key(), d.draw(), d.source(), "hdfs://elsewhere/" + d.location(), d.text())).toList();
        assertEquals(one.stream().map(Doc::key).collect(java.util.stream.Collectors.toSet()),
                run(moved, 2, true, NearDedupOptions.DEFAULT).stream().map(Doc::key).collect(java.util.stream.Collectors.toSet()),
                "the same texts are kept wherever the files lie");
        double[] q = quality(one, nearGroups);
        System.out.printf("near copies (1 %% of words changed): %.2f %% removed, %.2f %% of distinct documents kept%n",
                100 * q[0], 100 * q[1]);
        assertTrue(q[0] >= 0.95, "recall " + q[0]);
        assertTrue(q[1] >= 0.995, "distinct kept " + q[1]);
        for (int g = DISTINCT - RELATED; g < DISTINCT; g++) {
            if (groups.get(g).size() == 1) assertTrue(one.contains(groups.get(g).getFirst()), "half-shared document " + g + " kept");
        }
    }

    @Test
    void nearDedupAloneAlsoRemovesExactCopiesAndTheBookRuleKeepsOnePercentCopiesApartFromNinetyPercent() {
        Set<Doc> kept = run(2, false, NearDedupOptions.DEFAULT);
        assertEquals(1.0, quality(kept, exactGroups)[0], "exact copies have Jaccard 1");
        // Threshold 1.0 removes exact copies only: planted near copies (Jaccard about 0.9) stay.
        Set<Doc> strict = run(2, true, new NearDedupOptions(5, 20, 10, 1.0));
        assertEquals(0.0, quality(strict, nearGroups)[0], "no near copy is identical in all 200 values");
    }

    @Test
    void connectedComponentsLinkEveryNodeToTheSmallestOfItsComponent() {
        JavaSparkContext sc = SparkTestSession.get();
        List<Tuple2<Long, Long>> edges = new ArrayList<>();
        for (long i = 100; i < 160; i++) edges.add(new Tuple2<>(i + 1, i)); // a path: many rounds of propagation
        for (long i = 201; i < 220; i++) edges.add(new Tuple2<>(200L, i)); // a star around its smallest node
        edges.add(new Tuple2<>(-5L, 300L)); // negative ids are ordinary nodes
        edges.add(new Tuple2<>(300L, 301L));
        edges.add(new Tuple2<>(7L, 7L)); // a self-loop is no edge
        Map<Long, Long> expected = new HashMap<>();
        for (long i = 101; i <= 160; i++) expected.put(i, 100L);
        for (long i = 201; i < 220; i++) expected.put(i, 200L);
        expected.put(300L, -5L);
        expected.put(301L, -5L);
        for (long localEdges : new long[] {0, ConnectedComponents.LOCAL_EDGES}) { // the iteration, then union-find
            assertEquals(expected, ConnectedComponents.toSmallest(sc.parallelizePairs(edges, 3), 3, localEdges)
                    .collectAsMap(), "at most " + localEdges + " edges solved in one task");
        }
    }

    @Test
    void unionFindInOneTaskFindsTheComponentsTheDistributedIterationFinds() {
        JavaSparkContext sc = SparkTestSession.get();
        java.util.Random random = new java.util.Random(11);
        List<Tuple2<Long, Long>> edges = new ArrayList<>();
        for (int i = 0; i < 1500; i++) { // a sparse random graph over 4000 signed ids: components of many sizes
            edges.add(new Tuple2<>(random.nextLong() % 2000 * 4_611_686_018_427L, random.nextLong() % 2000 * 4_611_686_018_427L));
        }
        Map<Long, Long> iterated = ConnectedComponents.toSmallest(sc.parallelizePairs(edges, 4), 4, 0).collectAsMap();
        Map<Long, Long> local = ConnectedComponents.toSmallest(sc.parallelizePairs(edges, 4), 4, edges.size()).collectAsMap();
        long components = iterated.values().stream().distinct().count();
        assertTrue(iterated.size() > 500 && components > 100, iterated.size() + " nodes in " + components + " components");
        assertTrue(iterated.equals(local), "union-find and the iteration differ");
    }
}
