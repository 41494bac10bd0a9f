package dev.jllama.data.shard;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jllama.data.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class DatasetWindowsTest {
    private static final Configuration CONF = new Configuration();
    private static final int VOCAB = 4096;
    /** Large enough that TestDatasets' tokens (shard·1,000,000 + offset) never wrap: windows name their origin. */
    private static final int IDENTIFIABLE_VOCAB = 1 << 24;
    /** With uint32 tokens and seqLen 8 a window spans 32 bytes, so 256-byte CRC blocks make 8-window blocks. */
    private static final int SMALL_BLOCK_BYTES = 256;
    private static final int SEQ = 8;

    @TempDir
    Path tmp;

    private Dataset dataset(long... trainShards) throws IOException {
        TestDatasets.write(tmp.toString(), CONF, VOCAB, 4096, trainShards, new long[] {300});
        return Dataset.open(tmp.toString(), CONF);
    }

    /** A dataset whose windows name their shard and index (see {@link #id}), in blocks of 8 windows at seqLen 8. */
    private Dataset identifiable(String name, long... trainShards) throws IOException {
        String dir = tmp.resolve(name).toString();
        TestDatasets.write(dir, CONF, IDENTIFIABLE_VOCAB, SMALL_BLOCK_BYTES, trainShards, new long[] {300});
        return Dataset.open(dir, CONF);
    }

    /** shard·1,000,000 + window index of a window of an identifiable dataset, after checking its tokens. */
    static long id(int[] buf, int off, int seqLen) {
        for (int i = 1; i <= seqLen; i++) assertEquals(buf[off] + i, buf[off + i], "window tokens must be consecutive");
        int shard = buf[off] / 1_000_000;
        int offset = buf[off] % 1_000_000;
        assertEquals(0, offset % seqLen, "windows start at multiples of seqLen");
        return shard * 1_000_000L + offset / seqLen;
    }

    /** Ids of the next n windows, read in calls of at most `call` windows (as micro-batches would). */
    static long[] readIds(WindowSource s, int n, int call) throws IOException {
        int len = s.seqLen() + 1;
        long[] ids = new long[n];
        int[] buf = new int[call * len];
        for (int done = 0; done < n; ) {
            int c = Math.min(call, n - done);
            s.next(buf, c);
            for (int i = 0; i < c; i++) ids[done + i] = id(buf, i * len, s.seqLen());
            done += c;
        }
        return ids;
    }

    private static Set<Long> allWindows(long[] shardTokens, int seqLen) {
        Set<Long> all = new HashSet<>();
        for (int s = 0; s < shardTokens.length; s++) {
            for (long w = 0; w < (shardTokens[s] - 1) / seqLen; w++) all.add(s * 1_000_000L + w);
        }
        return all;
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3})
    void everyWindowOfAnEpochIsReadExactlyOnceAcrossRanks(int world) throws IOException {
        long[] shards = {1000, 1, 777, 2500, 40}; // 124 + 0 + 97 + 312 + 4 windows, 16+0+13+39+1 blocks
        Dataset d = identifiable("unequal", shards);
        int perStep = 5;
        int epoch = 537;
        int steps = (epoch + perStep * world - 1) / (perStep * world);
        long[] byGlobalIndex = new long[steps * perStep * world];
        for (int r = 0; r < world; r++) {
            RankSlice slice = new RankSlice(r, world, perStep);
            try (WindowSource s = d.windows("train", SEQ, 7, slice, null)) {
                long[] ids = readIds(s, steps * perStep, 2);
                for (int k = 0; k < ids.length; k++) byGlobalIndex[(int) slice.globalIndex(0, k)] = ids[k];
            }
        }
        Set<Long> firstEpoch = new HashSet<>();
        for (int g = 0; g < epoch; g++) {
            assertTrue(firstEpoch.add(byGlobalIndex[g]), "window " + byGlobalIndex[g] + " read twice in epoch 0");
        }
        assertEquals(allWindows(shards, SEQ), firstEpoch);
    }

    @Test
    void ranksOfAStepConcatenatedInRankOrderAreWhatOneRankReadsAcrossEpochs() throws IOException {
        Dataset d = identifiable("small", 300, 170, 95); // 37 + 21 + 11 = 69 windows per epoch
        int world = 3;
        int perStep = 4;
        int steps = 10; // 120 windows: through epoch 0 into epoch 1
        int len = SEQ + 1;
        int[][] ranks = new int[world][];
        for (int r = 0; r < world; r++) {
            try (WindowSource s = d.windows("train", SEQ, 3, new RankSlice(r, world, perStep), null)) {
                ranks[r] = new int[steps * perStep * len];
                s.next(ranks[r], steps * perStep);
            }
        }
        try (WindowSource one = d.windows("train", SEQ, 3, new RankSlice(0, 1, perStep * world), null)) {
            for (int step = 0; step < steps; step++) {
                int[] whole = new int[perStep * world * len];
                one.next(whole, perStep * world);
                for (int r = 0; r < world; r++) {
                    int[] part = Arrays.copyOfRange(ranks[r], step * perStep * len, (step + 1) * perStep * len);
                    assertArrayEquals(Arrays.copyOfRange(whole, r * perStep * len, (r + 1) * perStep * len), part,
                            "step " + step + " rank " + r);
                }
            }
        }
    }

    @Test
    void epochsAreShuffledInBlocksThatMixShardsFromTheStart() throws IOException {
        long[] shards = {2049, 2049, 2049}; // 256 windows each: 32 blocks of 8
        Dataset d = identifiable("three", shards);
        int mixed = 0;
        int seeds = 50;
        for (long seed = 0; seed < seeds; seed++) {
            try (WindowSource s = d.windows("train", SEQ, seed, new RankSlice(0, 1, 24), null)) {
                long[] ids = readIds(s, 24, 24);
                Set<Long> shardsSeen = new HashSet<>();
                for (int b = 0; b < 3; b++) {
                    long[] block = Arrays.copyOfRange(ids, b * 8, b * 8 + 8);
                    long first = Arrays.stream(block).min().orElseThrow();
                    // A full block: 8 consecutive windows of one shard starting at a multiple of 8, in shuffled order.
                    assertEquals(0, first % 8, Arrays.toString(block));
                    assertEquals(Set.of(first, first + 1, first + 2, first + 3, first + 4, first + 5, first + 6, first + 7),
                            new HashSet<>(Arrays.stream(block).boxed().toList()), "seed " + seed);
                    shardsSeen.add(first / 1_000_000);
                }
                if (shardsSeen.size() > 1) mixed++;
            }
        }
        // Three blocks drawn from 3x32 come from one shard with probability about 1/9.
        assertTrue(mixed >= seeds * 3 / 4, "the first three blocks mixed shards for " + mixed + " of " + seeds + " seeds");
    }

    @Test
    void epochsReshuffle() throws IOException {
        Dataset d = dataset(2000);
        int seqLen = 10;
        int per = 199;
        try (WindowSource s = d.windows("train", seqLen, 1, new RankSlice(0, 1, per), null)) {
            int[] e0 = new int[per * 11];
            int[] e1 = new int[per * 11];
            s.next(e0, per);
            s.next(e1, per);
            Set<Integer> a = new HashSet<>();
            Set<Integer> b = new HashSet<>();
            for (int i = 0; i < per; i++) {
                a.add(e0[i * 11]);
                b.add(e1[i * 11]);
            }
            assertEquals(per, a.size());
            assertEquals(a, b, "each epoch covers the same windows");
            assertNotEquals(Arrays.toString(e0), Arrays.toString(e1), "in a new order");
        }
    }

    @Test
    void resumingContinuesTheGlobalStreamWithAnyWorldSize() throws IOException {
        Dataset d = identifiable("resume", 1000, 333, 2500); // 477 windows per epoch
        long seed = 42;
        long[] reference;
        try (WindowSource one = d.windows("train", SEQ, seed, new RankSlice(0, 1, 1), null)) {
            reference = readIds(one, 1200, 100); // more than two epochs
        }
        // Two ranks, 3 windows each per step, stop after 7 steps: 42 windows of the world.
        String position = null;
        for (int r = 0; r < 2; r++) {
            try (WindowSource s = d.windows("train", SEQ, seed, new RankSlice(r, 2, 3), null)) {
                readIds(s, 21, 3);
                String p = s.position();
                if (position != null) assertEquals(position, p, "every rank saves the same position");
                position = p;
                s.next(new int[SEQ + 1], 1);
                IllegalStateException e = assertThrows(IllegalStateException.class, s::position);
                assertTrue(e.getMessage().contains("step boundary"), e.getMessage());
            }
        }
        assertTrue(position.contains("\"windows\":42"), position);
        assertTrue(!position.contains("rank") && !position.contains("world"), position);

        for (RankSlice shape : List.of(new RankSlice(0, 2, 3), new RankSlice(1, 3, 4), new RankSlice(2, 3, 4),
                new RankSlice(0, 1, 5))) {
            try (WindowSource s = d.windows("train", SEQ, seed, shape, position)) {
                int steps = 30;
                long[] ids = readIds(s, steps * shape.windowsPerStep(), shape.windowsPerStep());
                for (int k = 0; k < ids.length; k++) {
                    assertEquals(reference[(int) shape.globalIndex(42, k)], ids[k], shape + " window " + k);
                }
                String after = s.position();
                assertTrue(after.contains("\"windows\":" + (42 + steps * shape.windowsPerWorldStep())), after);
            }
        }
        // Positions depend only on the windows the world consumed: 1 rank x 12 and 3 ranks x 4 agree after 5 steps.
        String single;
        try (WindowSource s = d.windows("train", SEQ, seed, new RankSlice(0, 1, 12), position)) {
            s.next(new int[60 * (SEQ + 1)], 60);
            single = s.position();
        }
        try (WindowSource s = d.windows("train", SEQ, seed, new RankSlice(2, 3, 4), position)) {
            s.next(new int[20 * (SEQ + 1)], 20);
            assertEquals(single, s.position());
        }
    }

    @Test
    void positionFromOtherParametersIsRejected() throws IOException {
        Dataset d = dataset(1000);
        String pos;
        try (WindowSource s = d.windows("train", 8, 5, new RankSlice(0, 2, 1), null)) {
            s.next(new int[9], 1);
            pos = s.position();
        }
        IOException e = assertThrows(IOException.class, () -> d.windows("train", 16, 5, new RankSlice(0, 1, 1), pos));
        assertTrue(e.getMessage().contains("seq_len=8") && e.getMessage().contains("seq_len=16"), e.getMessage());
        e = assertThrows(IOException.class, () -> d.windows("train", 8, 6, new RankSlice(0, 1, 1), pos));
        assertTrue(e.getMessage().contains("seed=5") && e.getMessage().contains("seed=6"), e.getMessage());
        e = assertThrows(IOException.class, () -> d.windows("val", 8, 5, new RankSlice(0, 1, 1), pos));
        assertTrue(e.getMessage().contains("dataset="), e.getMessage()); // val has other shards, so another fingerprint

        Dataset other = identifiable("other", 1000);
        e = assertThrows(IOException.class, () -> other.windows("train", 8, 5, new RankSlice(0, 1, 1), pos));
        assertTrue(e.getMessage().contains("dataset=" + d.fingerprint("train")), e.getMessage());

        String perRank = "{\"version\":1,\"dataset\":\"x\",\"split\":\"train\",\"seq_len\":8,\"rank\":0,\"world_size\":2,"
                + "\"seed\":5,\"epoch\":0,\"shard\":0,\"window\":1,\"served\":1}";
        e = assertThrows(IOException.class, () -> d.windows("train", 8, 5, new RankSlice(0, 1, 1), perRank));
        assertTrue(e.getMessage().contains("version 1"), e.getMessage());
        String mixture = pos.replace("\"kind\":\"dataset\"", "\"kind\":\"mixture\"");
        e = assertThrows(IOException.class, () -> d.windows("train", 8, 5, new RankSlice(0, 1, 1), mixture));
        assertTrue(e.getMessage().contains("kind 'mixture'"), e.getMessage());
    }

    @Test
    void aSplitWithoutAWindowIsAClearError() throws IOException {
        Dataset d = dataset(10);
        IOException e = assertThrows(IOException.class, () -> d.windows("train", 16, 0, new RankSlice(0, 1, 1), null));
        assertTrue(e.getMessage().contains("no window of 17 tokens"), e.getMessage());
    }

    @Test
    void uint32ShardsRoundTrip() throws IOException {
        int vocab = 70_000;
        TestDatasets.write(tmp.toString(), CONF, vocab, 1 << 20, new long[] {70_000}, new long[] {100});
        Dataset d = Dataset.open(tmp.toString(), CONF);
        assertEquals(4, d.manifest().tokenWidth());
        int n = 69_999 / 4;
        try (WindowSource s = d.windows("train", 4, 0, new RankSlice(0, 1, n), null)) {
            int[] w = new int[5 * n];
            s.next(w, n);
            long max = Arrays.stream(w).max().orElseThrow();
            // The last window covers tokens [69992, 69997): ids above 65535 survive the uint32 round trip.
            assertEquals(69_996, max);
        }
    }

    /** Reads one whole epoch of train (enough to touch every block) with one rank. */
    private static void readEpoch(Dataset d, int seqLen) throws IOException {
        int windows = (int) ((d.tokens("train") - 1) / seqLen);
        try (WindowSource s = d.windows("train", seqLen, 0, new RankSlice(0, 1, 1), null)) {
            int[] one = new int[seqLen + 1];
            for (int i = 0; i < windows; i++) s.next(one, 1);
        }
    }

    @Test
    void corruptShardErrorNamesFileByteRangeBlockAndChunk() throws IOException {
        Dataset d = dataset(10_000);
        flipByte(tmp.resolve("train-00000.bin"), 9000);
        IOException e = assertThrows(IOException.class, () -> readEpoch(d, 8));
        assertTrue(e.getMessage().contains("train-00000.bin is corrupt"), e.getMessage());
        assertTrue(e.getMessage().contains("bytes [8704, 9216) (block 2, chunk 17 of "), e.getMessage());
    }

    @Test
    void corruptShardWithoutChunkChecksumsErrorNamesFileByteRangeAndBlock() throws IOException {
        dataset(10_000);
        TestDatasets.withoutChunkChecksums(tmp.toString(), CONF);
        Dataset d = Dataset.open(tmp.toString(), CONF);
        flipByte(tmp.resolve("train-00000.bin"), 9000);
        IOException e = assertThrows(IOException.class, () -> readEpoch(d, 8));
        assertTrue(e.getMessage().contains("train-00000.bin is corrupt"), e.getMessage());
        assertTrue(e.getMessage().contains("bytes [8192, 12288) (block 2)"), e.getMessage());
    }

    @Test
    void corruptChunkChecksumsAreNamedWithTheirBlock() throws IOException {
        Dataset d = dataset(10_000);
        flipByte(tmp.resolve("train-00000.bin.crc32c"), 4 * 17 + 1); // chunk 17's checksum, in block 2
        IOException e = assertThrows(IOException.class, () -> readEpoch(d, 8));
        assertTrue(e.getMessage().contains("chunk checksums file:" + tmp.resolve("train-00000.bin.crc32c")
                + " are corrupt: those of block 2 (bytes [64, 96) of it)"), e.getMessage());
    }

    @Test
    void missingChunkChecksumsAreNamed() throws IOException {
        Dataset d = dataset(10_000);
        Files.delete(tmp.resolve("train-00000.bin.crc32c"));
        IOException e = assertThrows(IOException.class, () -> readEpoch(d, 8));
        assertTrue(e.getMessage().contains("chunk checksums file:" + tmp.resolve("train-00000.bin.crc32c") + " do not exist"),
                e.getMessage());
    }

    private static void flipByte(Path file, long offset) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.seek(offset);
            int b = f.read();
            f.seek(offset);
            f.write(b ^ 0x40);
        }
    }

    @Test
    void truncatedShardErrorNamesFileAndOffset() throws IOException {
        Dataset d = dataset(10_000);
        try (RandomAccessFile f = new RandomAccessFile(tmp.resolve("train-00000.bin").toFile(), "rw")) {
            f.setLength(15_000);
        }
        IOException e = assertThrows(IOException.class, () -> readEpoch(d, 8));
        assertTrue(e.getMessage().contains("train-00000.bin is truncated"), e.getMessage());
        assertTrue(e.getMessage().contains("byte offset 15000"), e.getMessage());
    }

    @Test
    void missingShardIsNamed() throws IOException {
        Dataset d = dataset(1000, 1000);
        Files.delete(tmp.resolve("train-00001.bin"));
        IOException e = assertThrows(IOException.class, () -> readEpoch(d, 8));
        assertTrue(e.getMessage().contains("train-00001.bin listed in the manifest does not exist"), e.getMessage());
    }

    @Test
    void tokenOutsideTheVocabularyIsNamedWithItsOffset() throws IOException {
        TestDatasets.write(tmp.toString(), CONF, 70_000, 1 << 20, new long[] {70_000}, new long[] {100});
        Path m = tmp.resolve("manifest.json");
        Files.writeString(m, Files.readString(m).replace("\"vocab_size\" : 70000", "\"vocab_size\" : 69990"));
        Dataset d = Dataset.open(tmp.toString(), CONF);
        // Windows of seqLen 4 reach token 69996; the first outside the vocabulary is 69990, at 1024 + 4 x 69990.
        IOException e = assertThrows(IOException.class, () -> readEpoch(d, 4));
        assertTrue(e.getMessage().contains("train-00000.bin: token 69990 at byte offset 280984 is outside the vocabulary "
                + "of 69990"), e.getMessage());
    }

    @Test
    void missingOrBrokenManifestIsNamed() throws IOException {
        IOException e = assertThrows(IOException.class, () -> Dataset.open(tmp.toString(), CONF));
        assertTrue(e.getMessage().contains("has no manifest.json"), e.getMessage());
        dataset(100);
        Path m = tmp.resolve("manifest.json");
        Files.writeString(m, Files.readString(m).replace("\"vocab_size\" : 4096", "\"vocab_size\" : -3"));
        e = assertThrows(IOException.class, () -> Dataset.open(tmp.toString(), CONF));
        assertTrue(e.getMessage().contains("manifest.json") && e.getMessage().contains("vocab_size"), e.getMessage());
    }

    @Test
    void tokenizerIsCheckedAgainstTheManifest() throws IOException {
        Dataset d = dataset(100);
        assertEquals(VOCAB, d.tokenizer().vocabSize());
        assertArrayEquals(Tokenizer.bundled().toModelBytes(), d.tokenizerBytes());
        try (RandomAccessFile f = new RandomAccessFile(tmp.resolve("tokenizer.model").toFile(), "rw")) {
            f.seek(100);
            f.write(0x7f);
        }
        IOException e = assertThrows(IOException.class, d::tokenizer);
        assertTrue(e.getMessage().contains("tokenizer.model"), e.getMessage());
    }
}
