package dev.jllama.data.prepare;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jllama.data.SparkTestSession;
import dev.jllama.data.shard.Dataset;
import dev.jllama.data.shard.Manifest;
import dev.jllama.data.shard.RankSlice;
import dev.jllama.data.shard.WindowSource;
import dev.jllama.data.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PrepareJobTest {
    private static final Tokenizer TOK = Tokenizer.bundled();
    /** One boilerplate line in three spellings that CCNet's normalisation (case, punctuation) makes one line. */
    private static final String[] BOILER = {"Subscribe to our newsletter for more stories!",
            "SUBSCRIBE to our newsletter, for more stories", "subscribe to our Newsletter for more stories..."};
    private static final String CAFE_NFC = "The caf\u00e9 by the weir serves tea to every walker who stops at the old mill.";

    @TempDir
    Path tmp;

    /**
     * 13 distinct documents, two exact duplicates (one differs in whitespace, one is the decomposed spelling of
     * a document), boilerplate in 3 of them, 2 rejects.
     */
    private List<String> writeCorpus() throws IOException {
        Path in = tmp.resolve("in");
        Files.createDirectories(in.resolve("nested"));
        // Lines differ in words, not only digits: line dedup masks digits, as CCNet does.
        String[] trees = {"alder", "birch", "cedar", "dogwood", "elm", "fir", "ginkgo", "hazel"};
        String[] towns = {"Arden", "Bexley", "Corfe", "Dunmore"};
        String[] sights = {"lighthouse", "market", "chapel", "harbour wall"};
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            text.append("The ").append(trees[i]).append(" document talks about the river that runs past the old mill.\n");
            text.append("It has a second line, which mentions ").append(trees[(i + 3) % 8]).append(" leaves and a quiet evening.\n");
            if (i % 3 == 0) text.append(BOILER[i / 3]).append('\n');
            text.append("\r\n");
        }
        text.append("Too short.\n\n");
        text.append("#### $$$$ %%%% ^^^^ &&&& **** (((( )))) @@@@ !!!! ~~~~ ++++ ==== |||| <<<< >>>>\n\n");
        // The exact duplicate of the birch document after cleanup: extra spaces and a tab.
        text.append("The  birch document talks about the river that runs past the old mill.\t\n")
                .append("It has a second line, which mentions elm leaves and a quiet evening.\n\n\n\n");
        // NFC and NFD spellings of one document: equal after normalisation, so one of them is a duplicate.
        text.append(CAFE_NFC).append("\n\n").append(Normalizer.normalize(CAFE_NFC, Normalizer.Form.NFD))
                .append("\n\n");
        Files.writeString(in.resolve("a.txt"), text.toString());
        StringBuilder json = new StringBuilder();
        for (int i = 0; i < 4; i++) {
            json.append("{\"id\": ").append(i).append(", \"text\": \"JSON document ").append(towns[i])
                    .append(" describes a small harbour town with boats.\\nIts second paragraph is about the ")
                    .append(sights[i]).append(".\"}\n");
        }
        Files.writeString(in.resolve("nested/b.jsonl"), json.toString());
        Files.writeString(in.resolve("nested/_SUCCESS"), "ignored");
        return List.of(in.toString());
    }

    private PrepareOptions options(List<String> inputs, String out) {
        return PrepareOptions.withTokenizer(inputs, out, TOK).quality(new QualityFilter(20, 0.25)).valFraction(0.2);
    }

    @Test
    void cleansDedupsFiltersAndWritesReadableShards() throws IOException {
        List<String> inputs = writeCorpus();
        String out = tmp.resolve("ds").toString();
        PrepareResult r = PrepareJob.run(SparkTestSession.get(), options(inputs, out).shardTokens(64), m -> {});
        Map<String, Object> s = r.stats();
        assertEquals(2, ((Number) s.get("input_files")).intValue());
        assertEquals(17L, ((Number) s.get("input_documents")).longValue());
        assertEquals(2L, ((Number) s.get("documents_duplicate")).longValue());
        assertEquals(1L, ((Number) s.get("frequent_lines_distinct")).longValue());
        assertEquals(3L, ((Number) s.get("lines_removed_as_repeats")).longValue());
        assertEquals(1L, ((Number) s.get("documents_too_short")).longValue());
        assertEquals(1L, ((Number) s.get("documents_too_symbolic")).longValue());
        assertEquals(13L, ((Number) s.get("documents_kept")).longValue());
        assertTrue(r.megabytesPerSecond() > 0);

        Dataset d = Dataset.open(out, new Configuration());
        Manifest m = d.manifest();
        assertEquals(13L, m.split("train").documents() + m.split("val").documents());
        assertTrue(m.split("val").documents() >= 1, "validation split is never empty when a fraction is asked for");
        assertTrue(m.split("train").shards().size() > 1, "64-token shards: several of them");
        assertFalse(Files.exists(tmp.resolve("ds/_parts")), "temporary part files are gone");
        assertEquals(List.of(), siblingsStartingWith(".ds.tmp"));

        // Decoding the whole token stream gives back the cleaned documents, in key order, each ended by EOS.
        Tokenizer t = d.tokenizer();
        List<String> docs = new ArrayList<>();
        for (String split : List.of("train", "val")) docs.addAll(decodeDocuments(d, split, t));
        assertEquals(13, docs.size());
        for (String doc : docs) {
            assertFalse(doc.toLowerCase(Locale.ROOT).contains("newsletter"), "frequent line removed: " + doc);
            assertTrue(Normalizer.isNormalized(doc, Normalizer.Form.NFC), "NFC: " + doc);
            assertFalse(doc.contains("\t") || doc.contains("  ") || doc.contains("\r"), "whitespace cleaned: " + doc);
        }
        assertTrue(docs.contains("The birch document talks about the river that runs past the old mill.\n"
                + "It has a second line, which mentions elm leaves and a quiet evening."), docs.toString());
        assertTrue(docs.contains(CAFE_NFC), docs.toString());
        assertTrue(docs.contains("JSON document Corfe describes a small harbour town with boats.\n"
                + "Its second paragraph is about the chapel."), docs.toString());
    }

    /** Reads every token of a split straight from its shards and cuts at EOS. */
    static List<String> decodeDocuments(Dataset d, String split, Tokenizer t) throws IOException {
        List<Integer> all = new ArrayList<>();
        Manifest m = d.manifest();
        for (var shard : m.split(split).shards()) {
            byte[] b = Files.readAllBytes(Path.of(d.dir().toUri()).resolve(shard.file()));
            for (int i = 1024; i < b.length; i += 2) all.add((b[i] & 0xFF) | (b[i + 1] & 0xFF) << 8);
        }
        List<String> docs = new ArrayList<>();
        List<Integer> cur = new ArrayList<>();
        for (int id : all) {
            if (id == m.eosId()) {
                docs.add(t.decode(cur.stream().mapToInt(Integer::intValue).toArray()));
                cur.clear();
            } else {
                cur.add(id);
            }
        }
        assertTrue(cur.isEmpty(), "every document ends with EOS");
        return docs;
    }

    @Test
    void outputIsByteIdenticalWhateverThePartitioning() throws IOException {
        List<String> inputs = writeCorpus();
        String a = tmp.resolve("p1").toString();
        String b = tmp.resolve("p5").toString();
        PrepareJob.run(SparkTestSession.get(), options(inputs, a).shardTokens(50).partitions(1), m -> {});
        PrepareJob.run(SparkTestSession.get(), options(inputs, b).shardTokens(50).partitions(5), m -> {});
        List<Path> fa = files(Path.of(a));
        List<Path> fb = files(Path.of(b));
        assertEquals(fa.stream().map(Path::toString).toList(), fb.stream().map(Path::toString).toList());
        for (Path f : fa) assertArrayEquals(Files.readAllBytes(Path.of(a).resolve(f)), Files.readAllBytes(Path.of(b).resolve(f)), f.toString());
        assertTrue(fa.size() >= 4, "manifest, tokenizer and several shards: " + fa);
    }

    @Test
    void eachSourceGetsShardsOfItsOwnUnlessToldToMixThem() throws IOException {
        Path in = Path.of(writeCorpus().getFirst());
        List<String> inputs = List.of("text=" + in.resolve("a.txt"), "json=" + in.resolve("nested"));
        String apart = tmp.resolve("apart").toString();
        String mixed = tmp.resolve("mixed").toString();
        PrepareResult withTokens = PrepareJob.run(SparkTestSession.get(), options(inputs, apart).shardTokens(64), m -> {});
        // Mixed shards, and tokens counted only as written: the same tokens come out.
        PrepareResult without = PrepareJob.run(SparkTestSession.get(),
                options(inputs, mixed).shardTokens(64).sourceShards(false).stageTokens(false), m -> {});
        assertTrue(((Map<?, ?>) ((Map<?, ?>) withTokens.stats().get("sources")).get("json")).containsKey("tokens_in"));
        assertFalse(((Map<?, ?>) ((Map<?, ?>) without.stats().get("sources")).get("json")).containsKey("tokens_in"));
        Configuration conf = new Configuration();
        Dataset a = Dataset.open(apart, conf);
        Dataset b = Dataset.open(mixed, conf);
        for (String split : List.of("train", "val")) {
            Manifest.Split s = a.manifest().split(split);
            assertTrue(s.shardedBySource(), split + ": every shard names its source");
            assertEquals(b.tokens(split), a.tokens(split), split + ": the same tokens either way");
            assertEquals(b.manifest().split(split).sources(), s.sources(), split + ": the same per-source totals either way");
            assertTrue(b.manifest().split(split).shards().stream().allMatch(sh -> sh.source() == null), split);
            List<String> all = new ArrayList<>();
            for (String source : s.sources().keySet()) {
                Dataset one = a.source(source);
                assertEquals(s.sources().get(source).tokens(), one.tokens(split), split + " " + source);
                List<String> docs = decodeDocuments(one, split, TOK);
                assertEquals(s.sources().get(source).documents(), docs.size(), split + " " + source);
                for (String doc : docs) {
                    assertEquals(source.equals("json"), doc.startsWith("JSON document"), split + " " + source + ": " + doc);
                }
                all.addAll(docs);
            }
            List<String> whole = decodeDocuments(b, split, TOK);
            assertEquals(whole.stream().sorted().toList(), all.stream().sorted().toList(), split);
        }
        assertEquals(List.of("json", "text"), List.copyOf(a.manifest().split("train").sources().keySet()));
        assertEquals(4, a.manifest().split("train").sources().get("json").documents()
                + a.manifest().split("val").sources().getOrDefault("json", new Manifest.SourceTotals(0, 0)).documents());
    }

    @Test
    void windowsComeOutOfAPreparedDataset() throws IOException {
        String out = tmp.resolve("w").toString();
        PrepareJob.run(SparkTestSession.get(), options(writeCorpus(), out), m -> {});
        Dataset d = Dataset.open(out, new Configuration());
        try (WindowSource w = d.windows("train", 8, 3, new RankSlice(0, 1, 4), null)) {
            int[] buf = new int[4 * 9];
            w.next(buf, 4);
            for (int id : buf) assertTrue(id >= 0 && id < d.vocabSize());
        }
    }

    @Test
    void badInputFailsNamingFileAndOffsetAndLeavesNoDataset() throws IOException {
        Path in = tmp.resolve("bad.jsonl");
        Files.writeString(in, "{\"text\": \"a perfectly good document about nothing in particular\"}\n{\"body\": \"no text\"}\n");
        Path out = tmp.resolve("never");
        IOException e = assertThrows(IOException.class,
                () -> PrepareJob.run(SparkTestSession.get(), options(List.of(in.toString()), out.toString()), m -> {}),
                "bad JSONL must fail");
        Throwable root = e;
        String all = e.toString();
        while (root.getCause() != null) {
            root = root.getCause();
            all += " | " + root;
        }
        assertTrue(all.contains("bad.jsonl") && all.contains("byte offset 66") && all.contains("'text'"), all);
        assertFalse(Files.exists(out));
        assertEquals(List.of(), siblingsStartingWith(".never.tmp"));
    }

    /** A missing tokenizer file fails the job before any work, also when tokens are counted only as written. */
    @Test
    void missingTokenizerFileFailsBeforeAnyWork() throws IOException {
        Path out = tmp.resolve("untokenized");
        String missing = tmp.resolve("no-such.model").toString();
        for (boolean stageTokens : new boolean[] {true, false}) {
            List<String> jobs = new java.util.ArrayList<>();
            org.apache.spark.SparkContext sc = SparkTestSession.get().sc();
            org.apache.spark.scheduler.SparkListener counting = new org.apache.spark.scheduler.SparkListener() {
                @Override
                public void onJobStart(org.apache.spark.scheduler.SparkListenerJobStart job) {
                    jobs.add(String.valueOf(job.jobId()));
                }
            };
            sc.addSparkListener(counting);
            try {
                IOException e = assertThrows(IOException.class, () -> PrepareJob.run(SparkTestSession.get(),
                        PrepareOptions.withTokenizerFile(writeCorpus(), out.toString(), missing).stageTokens(stageTokens),
                        m -> {}));
                assertEquals("tokenizer file " + new org.apache.hadoop.fs.Path(missing) + " does not exist", e.getMessage());
            } finally {
                sc.removeSparkListener(counting);
            }
            assertEquals(List.of(), jobs, "no Spark job ran");
            assertFalse(Files.exists(out));
        }
    }

    @Test
    void existingOutputIsRefused() throws IOException {
        Path out = tmp.resolve("exists");
        Files.createDirectories(out);
        IOException e = assertThrows(IOException.class,
                () -> PrepareJob.run(SparkTestSession.get(), options(writeCorpus(), out.toString()), m -> {}));
        assertTrue(e.getMessage().contains("already exists"), e.getMessage());
    }

    @Test
    void trainedTokenizerIsTheSameForAnyPartitioningAndEncodesTheCorpusExactly() throws IOException {
        List<String> inputs = writeCorpus();
        String a = tmp.resolve("trained-p1").toString();
        String b = tmp.resolve("trained-p5").toString();
        PrepareOptions o = PrepareOptions.withTrainedTokenizer(inputs, a, 320).quality(new QualityFilter(20, 0.25))
                .valFraction(0.2).shardTokens(50);
        PrepareResult trained = PrepareJob.run(SparkTestSession.get(), o.partitions(1), m -> {});
        PrepareJob.run(SparkTestSession.get(), o.output(b).partitions(5), m -> {});
        @SuppressWarnings("unchecked")
        Map<String, Map<String, Object>> sources = (Map<String, Map<String, Object>>) trained.stats().get("sources");
        assertFalse(sources.get("in").containsKey("tokens_in"), "no tokenizer while reading: tokens counted as written only");
        assertTrue(((Number) sources.get("in").get("tokens_out")).longValue() > 0);
        List<Path> fa = files(Path.of(a));
        assertEquals(fa, files(Path.of(b)));
        for (Path f : fa) assertArrayEquals(Files.readAllBytes(Path.of(a).resolve(f)), Files.readAllBytes(Path.of(b).resolve(f)), f.toString());

        Dataset d = Dataset.open(a, new Configuration());
        Tokenizer t = d.tokenizer();
        assertEquals(320, d.vocabSize());
        assertEquals(320, t.vocabSize());
        assertEquals(List.of("<unk>", "<s>", "</s>", "<0x00>"), List.of(t.piece(0), t.piece(1), t.piece(2), t.piece(3)));
        assertEquals(2, d.manifest().eosId());
        // Decoding the shards gives back every kept document: the trained model encodes the corpus losslessly.
        List<String> train = decodeDocuments(d, "train", t);
        List<String> val = decodeDocuments(d, "val", t);
        assertEquals(13, train.size() + val.size());
        assertTrue(train.contains(CAFE_NFC) || val.contains(CAFE_NFC));
        // Every character of the training split's lines has its own piece (coverage 1.0): no byte fallback on them
        // (the trainer, like SentencePiece's, learns from lines, so only the newline itself falls back to a byte).
        for (String doc : train) {
            for (String line : doc.split("\n")) {
                for (int id : t.encode(line)) assertFalse(t.piece(id).startsWith("<0x"), "byte piece " + t.piece(id) + " in " + line);
            }
        }
        // The model names neither the input nor the output directory.
        String model = new String(Files.readAllBytes(Path.of(a).resolve(Manifest.TOKENIZER_FILE)), StandardCharsets.ISO_8859_1);
        assertFalse(model.contains(tmp.toString()), "the trained model records a path under " + tmp);
    }

    private List<String> siblingsStartingWith(String prefix) throws IOException {
        try (Stream<Path> s = Files.list(tmp)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(prefix)).toList();
        }
    }

    private static List<Path> files(Path root) throws IOException {
        try (Stream<Path> s = Files.walk(root)) {
            return s.filter(Files::isRegularFile).map(root::relativize).sorted().toList();
        }
    }
}
