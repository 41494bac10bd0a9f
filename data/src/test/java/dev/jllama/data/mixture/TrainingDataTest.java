package dev.jllama.data.mixture;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jllama.data.shard.Dataset;
import dev.jllama.data.shard.DatasetWriter;
import dev.jllama.data.shard.Manifest;
import dev.jllama.data.shard.RankSlice;
import dev.jllama.data.shard.ShardInfo;
import dev.jllama.data.shard.TokenWidth;
import dev.jllama.data.shard.WindowSource;
import dev.jllama.data.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainingDataTest {
    private static final Configuration CONF = new Configuration();
    /** uint32 tokens; token i of dataset `marker` is marker·1,000,000 + i, so a window names its dataset and offset. */
    private static final int VOCAB = 1 << 24;
    private static final int SEQ = 8;

    @TempDir
    Path tmp;

    /**
     * A dataset of two train shards (tokens split 60/40) whose token i is marker·1,000,000 + i. With uint32 tokens
     * and seqLen 8, {@code blockBytes} 256 gives blocks of 8 windows.
     */
    private String dataset(String name, int marker, int tokens, int vocab, byte[] tokenizer, int blockBytes)
            throws IOException {
        org.apache.hadoop.fs.Path d = new org.apache.hadoop.fs.Path(tmp.resolve(name).toString());
        FileSystem fs = DatasetWriter.withoutSideChecksums(d.getFileSystem(CONF));
        fs.mkdirs(d);
        int[] t = new int[tokens];
        for (int i = 0; i < tokens; i++) t[i] = marker * 1_000_000 + i;
        int first = tokens * 3 / 5;
        TokenWidth width = TokenWidth.forVocabulary(vocab);
        List<ShardInfo> shards = List.of(
                DatasetWriter.writeShard(fs, new org.apache.hadoop.fs.Path(d, "train-00000.bin"), width, t, 0, first, vocab, blockBytes),
                DatasetWriter.writeShard(fs, new org.apache.hadoop.fs.Path(d, "train-00001.bin"), width, t, first, tokens - first,
                        vocab, blockBytes));
        Map<String, Manifest.Split> splits = new LinkedHashMap<>();
        splits.put("train", new Manifest.Split(tokens, 1, shards));
        splits.put("val", new Manifest.Split(0, 0, List.of()));
        var tok = DatasetWriter.writeTokenizer(fs, d, tokenizer);
        DatasetWriter.writeManifest(fs, d, new Manifest(Manifest.FORMAT, 1, vocab, 1, 2, width.bytes(), tok, blockBytes,
                splits, Map.of()));
        return d.toString();
    }

    /**
     * One dataset whose sources have shards of their own: "web" (markers 1 and 2, two shards of 900 and 600 tokens)
     * and "books" (marker 3, one shard of 700), as prepare writes them with per-source shards.
     */
    private String bySourceDataset(String name) throws IOException {
        org.apache.hadoop.fs.Path d = new org.apache.hadoop.fs.Path(tmp.resolve(name).toString());
        FileSystem fs = DatasetWriter.withoutSideChecksums(d.getFileSystem(CONF));
        fs.mkdirs(d);
        TokenWidth width = TokenWidth.forVocabulary(VOCAB);
        int[][] shardSpecs = {{1, 900}, {2, 600}, {3, 700}};
        String[] sources = {"web", "web", "books"};
        List<ShardInfo> shards = new ArrayList<>();
        for (int i = 0; i < shardSpecs.length; i++) {
            int[] t = new int[shardSpecs[i][1]];
            for (int j = 0; j < t.length; j++) t[j] = shardSpecs[i][0] * 1_000_000 + j;
            shards.add(DatasetWriter.writeShard(fs, new org.apache.hadoop.fs.Path(d, DatasetWriter.shardName("train", i)),
                    width, t, 0, t.length, VOCAB, 256).ofSource(sources[i]));
        }
        Map<String, Manifest.Split> splits = new LinkedHashMap<>();
        splits.put("train", new Manifest.Split(2200, 30, shards, Map.of("web", new Manifest.SourceTotals(20, 1500),
                "books", new Manifest.SourceTotals(10, 700))));
        splits.put("val", new Manifest.Split(0, 0, List.of(), Map.of()));
        var tok = DatasetWriter.writeTokenizer(fs, d, Tokenizer.bundled().toModelBytes());
        DatasetWriter.writeManifest(fs, d, new Manifest(Manifest.FORMAT, 1, VOCAB, 1, 2, width.bytes(), tok, 256,
                splits, Map.of()));
        return d.toString();
    }

    private String dataset(String name, int marker, int tokens) throws IOException {
        return dataset(name, marker, tokens, VOCAB, Tokenizer.bundled().toModelBytes(), 256);
    }

    /** Three datasets of unequal sizes and weights 5:3:2, with blocks of 8 windows. */
    private TrainingData threeWay() throws IOException {
        String spec = "web=" + dataset("web", 1, 1500) + ":5,books=" + dataset("books", 2, 700) + ":3,code="
                + dataset("code", 3, 333) + ":2";
        return TrainingData.open(spec, CONF);
    }

    /** The first tokens of the next n windows (they name dataset and offset), read in calls of `call` windows. */
    private static int[] firstTokens(WindowSource s, int n, int call) throws IOException {
        int len = s.seqLen() + 1;
        int[] out = new int[n];
        int[] buf = new int[call * len];
        for (int done = 0; done < n; ) {
            int c = Math.min(call, n - done);
            s.next(buf, c);
            for (int i = 0; i < c; i++) {
                for (int j = 1; j < len; j++) assertEquals(buf[i * len] + j, buf[i * len + j], "window tokens are consecutive");
                out[done + i] = buf[i * len];
            }
            done += c;
        }
        return out;
    }

    private static long windows(Map<String, Map<String, Object>> report, String name) {
        return ((Number) ((Map<?, ?>) report.get(name)).get("windows")).longValue();
    }

    @Test
    void realisedProportionsFollowTheLlamaWeightsWithinFourSigma() throws IOException {
        List<String> parts = new ArrayList<>();
        int marker = 10;
        for (var e : MixtureComponent.LLAMA_PAPER_WEIGHTS.entrySet()) {
            parts.add(e.getKey() + "=" + dataset(e.getKey(), marker++, 2000, VOCAB, Tokenizer.bundled().toModelBytes(), 1 << 20)
                    + ":" + e.getValue());
        }
        TrainingData data = TrainingData.open(String.join(",", parts), CONF);
        int n = 200_000;
        int perStep = 1000;
        try (WindowSource s = data.windows("train", 4, 11, new RankSlice(0, 1, perStep), null)) {
            int[] first = firstTokens(s, n, perStep);
            long[] byMarker = new long[7];
            for (int t : first) byMarker[t / 1_000_000 - 10]++;
            Map<String, Map<String, Object>> report = s.report();
            int i = 0;
            for (var e : MixtureComponent.LLAMA_PAPER_WEIGHTS.entrySet()) {
                double p = e.getValue() / 100.0;
                Map<?, ?> r = (Map<?, ?>) report.get(e.getKey());
                assertEquals(byMarker[i++], windows(report, e.getKey()), e.getKey());
                assertEquals(p, (Double) r.get("weight"), 1e-12);
                double realised = (Double) r.get("realised");
                // 4 binomial sigmas: at most 6.3 % of p here (p = 0.02), so 2 % and 2.5 % cannot pass for each other.
                double bound = 4 * Math.sqrt(p * (1 - p) / n);
                assertTrue(bound < 0.1 * p, "the test must resolve " + e.getKey() + " to 10 %");
                assertEquals(p, realised, bound, e.getKey() + " " + report);
            }
        }
    }

    @Test
    void epochsCountTheWindowsDrawnAgainstOneEpochOfEachDataset() throws IOException {
        TrainingData data = threeWay();
        // Shards of 900+600, 420+280 and 199+134 tokens hold (n-1)/8 windows of 9 tokens each.
        Map<String, Long> perEpoch = Map.of("web", 112L + 74, "books", 52L + 34, "code", 24L + 16);
        Map<String, Double> planned = data.plannedEpochs("train", SEQ, 1000);
        assertEquals(List.of("web", "books", "code"), List.copyOf(planned.keySet()));
        assertEquals(0.5 * 1000 / 186, planned.get("web"), 1e-12);
        assertEquals(0.2 * 1000 / 40, planned.get("code"), 1e-12);
        try (WindowSource s = data.windows("train", SEQ, 5, new RankSlice(0, 1, 100), null)) {
            firstTokens(s, 1000, 100);
            Map<String, Map<String, Object>> report = s.report();
            for (String name : perEpoch.keySet()) {
                double epochs = (Double) ((Map<?, ?>) report.get(name)).get("epochs");
                assertEquals(windows(report, name) / (double) perEpoch.get(name), epochs, 1e-12, name);
                // 1000 draws: the count's binomial sigma is at most 6.3 % of its mean here; 25 % is four of them.
                assertEquals(planned.get(name), epochs, 0.25 * planned.get(name), name);
            }
        }
    }

    @Test
    void sourcesOfOneDatasetAreMixedByWeightEachFromItsOwnShards() throws IOException {
        String dir = bySourceDataset("both");
        TrainingData data = TrainingData.open("CommonCrawl=" + dir + "#web:3,Books=" + dir + "#books:1", CONF);
        // web: (900-1)/8 + (600-1)/8 = 112 + 74 windows; books: (700-1)/8 = 87.
        Map<String, Double> planned = data.plannedEpochs("train", SEQ, 1000);
        assertEquals(0.75 * 1000 / 186, planned.get("CommonCrawl"), 1e-12);
        assertEquals(0.25 * 1000 / 87, planned.get("Books"), 1e-12);
        assertEquals(1500, Dataset.open(dir, CONF).source("web").tokens("train"));
        assertTrue(data.describe().contains(dir + "#web:0.75"), data.describe());
        int n = 4000;
        try (WindowSource s = data.windows("train", SEQ, 3, new RankSlice(0, 1, 100), null)) {
            int[] first = firstTokens(s, n, 100);
            long web = Arrays.stream(first).filter(t -> t / 1_000_000 < 3).count();
            long books = Arrays.stream(first).filter(t -> t / 1_000_000 == 3).count();
            assertEquals(n, web + books);
            Map<String, Map<String, Object>> report = s.report();
            assertEquals(web, windows(report, "CommonCrawl"), "CommonCrawl windows all come from the web shards");
            assertEquals(books, windows(report, "Books"), "Books windows all come from the books shard");
            double bound = 4 * Math.sqrt(0.25 * 0.75 / n); // 4 binomial sigmas
            assertEquals(0.25, books / (double) n, bound);
            assertEquals(books / 87.0, (Double) ((Map<?, ?>) report.get("Books")).get("epochs"), 1e-12);
        }
        // The executors reopen the qualified spec: the sources survive it.
        assertEquals(data.describe(), TrainingData.open(data.qualifiedSpec(), CONF).describe());
        // One source alone, and the whole dataset.
        try (WindowSource s = TrainingData.open(dir + "#books", CONF).windows("train", SEQ, 3, new RankSlice(0, 1, 10), null)) {
            for (int t : firstTokens(s, 200, 10)) assertEquals(3, t / 1_000_000);
        }
        assertEquals(2200, TrainingData.open(dir, CONF).tokens("train"));
    }

    @Test
    void aSourceThatIsNotApartIsRefusedNamingTheDataset() throws IOException {
        String both = bySourceDataset("both");
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
                () -> TrainingData.open("a=" + both + "#wiki:1,b=" + both + "#web:1", CONF));
        assertTrue(unknown.getMessage().contains("has no source 'wiki'") && unknown.getMessage().contains("[books, web]"),
                unknown.getMessage());
        String mixed = dataset("mixed", 1, 900);
        IllegalArgumentException notApart = assertThrows(IllegalArgumentException.class,
                () -> TrainingData.open(mixed + "#web", CONF));
        assertTrue(notApart.getMessage().contains(mixed) && notApart.getMessage().contains("--source-shards"),
                notApart.getMessage());
        assertThrows(IllegalArgumentException.class, () -> TrainingData.open("a=" + both + "#:1", CONF));
        assertThrows(IllegalArgumentException.class, () -> new MixtureComponent("a", both, "x,y", 1));
    }

    @Test
    void aManifestNamingTheSourceOfSomeShardsOnlyIsRefused() throws IOException {
        String dir = bySourceDataset("half");
        org.apache.hadoop.fs.Path m = new org.apache.hadoop.fs.Path(dir, Manifest.FILE_NAME);
        FileSystem fs = m.getFileSystem(CONF);
        String json;
        try (InputStream in = fs.open(m)) {
            json = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        }
        try (var out = fs.create(m, true)) {
            out.write(json.replaceFirst("\"source\" : \"books\"", "\"other\" : 0").getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        IOException e = assertThrows(IOException.class, () -> Dataset.open(dir, CONF));
        assertTrue(e.getMessage().contains("names the source of 2 of 3 shards"), e.getMessage());
    }

    @Test
    void ranksOfAStepTogetherDrawWhatOneRankDraws() throws IOException {
        TrainingData data = threeWay();
        int world = 3;
        int perStep = 4;
        int steps = 40; // 480 draws: every dataset wraps into later epochs (web has 187 windows, code 41)
        int[][] ranks = new int[world][];
        String[] positions = new String[world];
        List<Map<String, Map<String, Object>>> reports = new ArrayList<>();
        for (int r = 0; r < world; r++) {
            try (WindowSource s = data.windows("train", SEQ, 9, new RankSlice(r, world, perStep), null)) {
                ranks[r] = firstTokens(s, steps * perStep, 2);
                positions[r] = s.position();
                reports.add(s.report());
            }
        }
        try (WindowSource one = data.windows("train", SEQ, 9, new RankSlice(0, 1, perStep * world), null)) {
            int[] all = firstTokens(one, steps * perStep * world, perStep * world);
            for (int step = 0; step < steps; step++) {
                for (int r = 0; r < world; r++) {
                    assertArrayEquals(Arrays.copyOfRange(all, (step * world + r) * perStep, (step * world + r + 1) * perStep),
                            Arrays.copyOfRange(ranks[r], step * perStep, (step + 1) * perStep), "step " + step + " rank " + r);
                }
            }
            for (int r = 0; r < world; r++) {
                assertEquals(one.position(), positions[r], "rank " + r);
                assertEquals(one.report(), reports.get(r), "rank " + r);
            }
            long sum = reports.getFirst().keySet().stream().mapToLong(k -> windows(reports.getFirst(), k)).sum();
            assertEquals(steps * perStep * world, sum, "the report counts the whole world's draws");
        }
    }

    @Test
    void resumesTheGlobalDrawsWithAnyWorldSize() throws IOException {
        TrainingData data = threeWay();
        long seed = 5;
        int[] reference;
        Map<String, Map<String, Object>> referenceReportAt60;
        try (WindowSource one = data.windows("train", SEQ, seed, new RankSlice(0, 1, 60), null)) {
            firstTokens(one, 60, 60);
            referenceReportAt60 = one.report();
        }
        try (WindowSource one = data.windows("train", SEQ, seed, new RankSlice(0, 1, 1), null)) {
            reference = firstTokens(one, 600, 50);
        }
        String position = null;
        for (int r = 0; r < 2; r++) {
            try (WindowSource s = data.windows("train", SEQ, seed, new RankSlice(r, 2, 3), null)) {
                firstTokens(s, 30, 3); // 10 steps of 6 draws
                if (position != null) assertEquals(position, s.position(), "every rank saves the same position");
                position = s.position();
                s.next(new int[SEQ + 1], 1);
                assertThrows(IllegalStateException.class, s::position);
            }
        }
        assertTrue(position.contains("\"windows\":60") && position.contains("\"kind\":\"mixture\""), position);
        for (RankSlice shape : List.of(new RankSlice(1, 2, 3), new RankSlice(0, 3, 2), new RankSlice(2, 3, 2),
                new RankSlice(0, 1, 7))) {
            try (WindowSource s = data.windows("train", SEQ, seed, shape, position)) {
                assertEquals(referenceReportAt60, s.report(), "counts are recomputed from the draws");
                int n = 60 * shape.windowsPerStep();
                int[] got = firstTokens(s, n, shape.windowsPerStep());
                for (int k = 0; k < n; k++) {
                    assertEquals(reference[(int) shape.globalIndex(60, k)], got[k], shape + " window " + k);
                }
            }
        }
    }

    @Test
    void aPositionFromAnotherMixtureIsRefused() throws IOException {
        TrainingData data = threeWay();
        String position;
        try (WindowSource s = data.windows("train", SEQ, 5, new RankSlice(0, 1, 2), null)) {
            s.next(new int[2 * (SEQ + 1)], 2);
            position = s.position();
        }
        String web = tmp.resolve("web").toString();
        String books = tmp.resolve("books").toString();
        String code = tmp.resolve("code").toString();
        TrainingData reweighted = TrainingData.open("web=" + web + ":5,books=" + books + ":3,code=" + code + ":1", CONF);
        IOException e = assertThrows(IOException.class,
                () -> reweighted.windows("train", SEQ, 5, new RankSlice(0, 1, 2), position));
        assertTrue(e.getMessage().contains("components[web].weight=0.5") && e.getMessage().contains("weight=0.5555"),
                e.getMessage());
        TrainingData renamed = TrainingData.open("web=" + web + ":5,novels=" + books + ":3,code=" + code + ":2", CONF);
        e = assertThrows(IOException.class, () -> renamed.windows("train", SEQ, 5, new RankSlice(0, 1, 2), position));
        assertTrue(e.getMessage().contains("components=[web, books, code]"), e.getMessage());
        e = assertThrows(IOException.class, () -> data.windows("train", 16, 5, new RankSlice(0, 1, 2), position));
        assertTrue(e.getMessage().contains("seq_len=8"), e.getMessage());
        TrainingData single = TrainingData.open(web, CONF);
        e = assertThrows(IOException.class, () -> single.windows("train", SEQ, 5, new RankSlice(0, 1, 2), position));
        assertTrue(e.getMessage().contains("kind 'mixture'"), e.getMessage());
    }

    @Test
    void datasetsWithAnotherTokenizerAreRefusedNamingBoth() throws IOException {
        String a = dataset("a", 1, 500);
        String b = dataset("b", 0, 500, 8000, Tokenizer.bundled().toModelBytes(), 256);
        IOException e = assertThrows(IOException.class, () -> TrainingData.open("a=" + a + ":1,b=" + b + ":1", CONF));
        assertTrue(e.getMessage().contains("/b") && e.getMessage().contains("/a") && e.getMessage().contains("vocab_size 8000 vs "
                + VOCAB), e.getMessage());
        byte[] otherModel;
        try (InputStream in = getClass().getResourceAsStream("/dev/jllama/data/tokenizer/spm-bpe-nfkc.model")) {
            otherModel = in.readAllBytes();
        }
        String c = dataset("c", 3, 500, VOCAB, otherModel, 256);
        e = assertThrows(IOException.class, () -> TrainingData.open("a=" + a + ":1,c=" + c + ":1", CONF));
        assertTrue(e.getMessage().contains("component 'c'") && e.getMessage().contains("tokenizer CRC32C"), e.getMessage());
    }

    @Test
    void aSingleDatasetIsOneComponentReadAsItsGlobalStream() throws IOException {
        String dir = dataset("solo", 0, 900, 4096, Tokenizer.bundled().toModelBytes(), 256);
        TrainingData data = TrainingData.open(dir, CONF);
        assertEquals(1, data.components().size());
        assertEquals("solo", data.components().getFirst().name());
        assertTrue(data.describe().endsWith("/solo"), data.describe());
        assertEquals(900, data.tokens("train"));
        assertEquals(4096, data.vocabSize());
        assertArrayEquals(Tokenizer.bundled().toModelBytes(), data.tokenizerBytes());
        assertEquals(4096, data.tokenizer().vocabSize());
        try (WindowSource s = data.windows("train", SEQ, 1, new RankSlice(0, 1, 4), null)) {
            firstTokens(s, 4, 4);
            assertTrue(s.position().contains("\"kind\":\"dataset\""), s.position());
            assertEquals(Map.of(), s.report());
        }
    }

    @Test
    void mixtureFileNamesDatasetsRelativeToItself() throws IOException {
        dataset("web", 1, 1500);
        String books = dataset("books", 2, 700);
        Path file = tmp.resolve("mix.json");
        Files.writeString(file, "{\"datasets\": [{\"name\": \"web\", \"path\": \"web\", \"weight\": 2},"
                + " {\"name\": \"books\", \"path\": \"" + books + "\", \"weight\": 1}]}");
        TrainingData data = TrainingData.open("@" + file, CONF);
        assertEquals(List.of("web", "books"), data.components().stream().map(MixtureComponent::name).toList());
        assertTrue(data.components().getFirst().dir().endsWith(tmp.resolve("web").toString()), data.components().toString());
        assertTrue(data.describe().matches("web=\\S+/web:0\\.6667, books=\\S+/books:0\\.3333"), data.describe());
        assertEquals(2200, data.tokens("train"));

        Files.writeString(file, "{\"datasets\": [{\"name\": \"web\", \"path\": \"web\", \"wieght\": 2}]}");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TrainingData.open("@" + file, CONF));
        assertTrue(e.getMessage().contains("mix.json") && e.getMessage().contains("datasets[0] has unknown field 'wieght'"),
                e.getMessage());
        Files.writeString(file, "{\"datasets\": [{\"name\": \"web\", \"path\": \"web\", \"weight\": -2}]}");
        e = assertThrows(IllegalArgumentException.class, () -> TrainingData.open("@" + file, CONF));
        assertTrue(e.getMessage().contains("datasets[0].weight is -2"), e.getMessage());
        Files.writeString(file, "{\"datasets\": [{\"name\": \"web\", \"weight\": 2}]}");
        e = assertThrows(IllegalArgumentException.class, () -> TrainingData.open("@" + file, CONF));
        assertTrue(e.getMessage().contains("datasets[0].path is null"), e.getMessage());
        Files.writeString(file, "{\"datasets\": [{\"name\": \"a\", \"path\": \"web\", \"weight\": 1},"
                + " {\"name\": \"a\", \"path\": \"books\", \"weight\": 1}]}");
        e = assertThrows(IllegalArgumentException.class, () -> TrainingData.open("@" + file, CONF));
        assertTrue(e.getMessage().contains("names dataset 'a' twice"), e.getMessage());
        Files.writeString(file, "{\"datasets\": [");
        e = assertThrows(IllegalArgumentException.class, () -> TrainingData.open("@" + file, CONF));
        assertTrue(e.getMessage().contains("mix.json is not valid JSON"), e.getMessage());
        IOException missing = assertThrows(IOException.class, () -> TrainingData.open("@" + tmp.resolve("nope.json"), CONF));
        assertTrue(missing.getMessage().contains("nope.json does not exist"), missing.getMessage());
    }

    @Test
    void parsesListSpecsAndNamesWhatIsWrong() {
        List<MixtureComponent> c = DataSpec.parseList("web=hdfs://nn:8020/data/web:0.67, books=/d/books:0.33");
        assertEquals(new MixtureComponent("web", "hdfs://nn:8020/data/web", 0.67), c.get(0));
        assertEquals(new MixtureComponent("books", "/d/books", 0.33), c.get(1));
        assertTrue(DataSpec.isList("web=hdfs://nn:8020/data/web:1"));
        assertFalse(DataSpec.isList("hdfs://nn:8020/data/web"));
        assertFalse(DataSpec.isList("/warehouse/t/dt=2024-01-01"), "a path with '=' is a directory");

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DataSpec.parseList("web=hdfs://nn:8020/x"));
        assertTrue(e.getMessage().contains("weight '8020/x'") && e.getMessage().contains("web=hdfs://nn:8020/x"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> DataSpec.parseList("web=/d/x:abc"));
        assertTrue(e.getMessage().contains("weight 'abc'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> DataSpec.parseList("web=/d/x:-1"));
        assertTrue(e.getMessage().contains("weight -1 must be positive"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> DataSpec.parseList("web=/d/x:0"));
        assertTrue(e.getMessage().contains("weight 0 must be positive"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> DataSpec.parseList("web=/d/x:1,web=/d/y:2"));
        assertTrue(e.getMessage().contains("names dataset 'web' twice"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> DataSpec.parseList("web=/d/x:1,"));
        assertTrue(e.getMessage().contains("part 2 is empty"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> DataSpec.parseList("web=/d/x:1,books"));
        assertTrue(e.getMessage().contains("'books' must look like NAME=DIR:WEIGHT"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> DataSpec.parseList("web=:2"));
        assertTrue(e.getMessage().contains("empty DIR"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> TrainingData.open(" ", CONF));
        assertTrue(e.getMessage().contains("no data given"), e.getMessage());
    }
}
