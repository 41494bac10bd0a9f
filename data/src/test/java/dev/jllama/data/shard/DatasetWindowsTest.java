package dev.jllama.data.shard;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DatasetWindowsTest {
    private static final Configuration CONF = new Configuration();
    private static final int VOCAB = 4096;

    @TempDir
    Path tmp;

    private Dataset dataset(long... trainShards) throws IOException {
        TestDatasets.write(tmp.toString(), CONF, VOCAB, 4096, trainShards, new long[] {300});
        return Dataset.open(tmp.toString(), CONF);
    }

    /** Decodes (shard, start) from a window's first token and checks that the window is contiguous. */
    private static long identify(int[] w, int off, int len) {
        for (int i = 1; i < len; i++) {
            assertEquals((w[off] + i) % VOCAB, w[off + i], "window tokens must be consecutive");
        }
        return w[off];
    }

    @Test
    void ranksSplitEachEpochWithoutOverlapAndWindowsAreExact() throws IOException {
        Dataset d = dataset(1000, 1, 777, 2500);
        int seqLen = 16;
        int world = 3;
        WindowPlan plan = new WindowPlan(d.manifest().split("train").shards(), seqLen, 0, world, 7);
        long perRank = plan.perRankPerEpoch();
        // (1000-1)/16=62 -> 20 each, 1 token -> 0, (777-1)/16=48 -> 16, (2500-1)/16=156 -> 52
        assertEquals(20 + 0 + 16 + 52, perRank);
        Set<Long> seen = new HashSet<>();
        for (int r = 0; r < world; r++) {
            try (WindowSource s = d.windows("train", seqLen, r, world, 7, null)) {
                int[] buf = new int[(int) perRank * (seqLen + 1)];
                s.next(buf, (int) perRank);
                for (int i = 0; i < perRank; i++) {
                    long id = identify(buf, i * (seqLen + 1), seqLen + 1);
                    // First tokens are shard*1000 + w*16; distinct windows have distinct first tokens here.
                    assertTrue(seen.add(id), "window starting with token " + id + " handed out twice in one epoch");
                }
            }
        }
        assertEquals(world * perRank, seen.size());
    }

    @Test
    void resumingFromAPositionReplaysExactlyAcrossEpochs() throws IOException {
        Dataset d = dataset(1000, 333, 2500);
        int seqLen = 8;
        int len = seqLen + 1;
        try (WindowSource a = d.windows("train", seqLen, 1, 2, 42, null)) {
            int[] first = new int[37 * len];
            a.next(first, 37);
            String pos = a.position();
            // Far enough to cross several shard and epoch boundaries: an epoch is (124+41+312)/2 = 238 windows.
            int[] rest = new int[600 * len];
            a.next(rest, 600);
            try (WindowSource b = d.windows("train", seqLen, 1, 2, 42, pos)) {
                int[] again = new int[600 * len];
                b.next(again, 600);
                assertArrayEquals(rest, again);
                assertEquals(a.position(), b.position());
            }
            // A different seed shuffles differently.
            try (WindowSource c = d.windows("train", seqLen, 1, 2, 43, null)) {
                int[] other = new int[37 * len];
                c.next(other, 37);
                assertNotEquals(java.util.Arrays.toString(first), java.util.Arrays.toString(other));
            }
        }
    }

    @Test
    void epochsReshuffle() throws IOException {
        Dataset d = dataset(2000);
        int seqLen = 10;
        try (WindowSource s = d.windows("train", seqLen, 0, 1, 1, null)) {
            int per = 199;
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
            assertEquals(a, b, "each epoch covers the same windows");
            assertNotEquals(java.util.Arrays.toString(e0), java.util.Arrays.toString(e1), "in a new order");
        }
    }

    @Test
    void positionFromOtherParametersIsRejected() throws IOException {
        Dataset d = dataset(1000);
        String pos;
        try (WindowSource s = d.windows("train", 8, 0, 2, 5, null)) {
            s.next(new int[9], 1);
            pos = s.position();
        }
        IOException e = assertThrows(IOException.class, () -> d.windows("train", 8, 1, 2, 5, pos));
        assertTrue(e.getMessage().contains("rank"), e.getMessage());
        e = assertThrows(IOException.class, () -> d.windows("train", 16, 0, 2, 5, pos));
        assertTrue(e.getMessage().contains("seq_len"), e.getMessage());
    }

    @Test
    void tooFewTokensForTheWorldIsAClearError() throws IOException {
        Dataset d = dataset(50);
        IOException e = assertThrows(IOException.class, () -> d.windows("train", 16, 0, 8, 0, null));
        assertTrue(e.getMessage().contains("no window of 17 tokens"), e.getMessage());
    }

    @Test
    void uint32ShardsRoundTrip() throws IOException {
        int vocab = 70_000;
        TestDatasets.write(tmp.toString(), CONF, vocab, 1 << 20, new long[] {70_000}, new long[] {100});
        Dataset d = Dataset.open(tmp.toString(), CONF);
        assertEquals(4, d.manifest().tokenWidth());
        try (WindowSource s = d.windows("train", 4, 0, 1, 0, null)) {
            int n = 69_999 / 4;
            int[] w = new int[5 * n];
            s.next(w, n);
            long max = java.util.Arrays.stream(w).max().orElseThrow();
            // The last window covers tokens [69992, 69997): ids above 65535 survive the uint32 round trip.
            assertEquals(69_996, max);
        }
    }

    @Test
    void corruptShardErrorNamesFileAndByteRange() throws IOException {
        Dataset d = dataset(10_000);
        Path shard = tmp.resolve("train-00000.bin");
        try (RandomAccessFile f = new RandomAccessFile(shard.toFile(), "rw")) {
            f.seek(9000);
            int b = f.read();
            f.seek(9000);
            f.write(b ^ 0x40);
        }
        try (WindowSource s = d.windows("train", 8, 0, 1, 0, null)) {
            IOException e = assertThrows(IOException.class, () -> s.next(new int[9], 1));
            assertTrue(e.getMessage().contains("train-00000.bin"), e.getMessage());
            assertTrue(e.getMessage().contains("bytes [8192, 12288)"), e.getMessage());
        }
    }

    @Test
    void truncatedShardErrorNamesFileAndOffset() throws IOException {
        Dataset d = dataset(10_000);
        Path shard = tmp.resolve("train-00000.bin");
        try (RandomAccessFile f = new RandomAccessFile(shard.toFile(), "rw")) {
            f.setLength(15_000);
        }
        try (WindowSource s = d.windows("train", 8, 0, 1, 0, null)) {
            IOException e = assertThrows(IOException.class, () -> s.next(new int[9], 1));
            assertTrue(e.getMessage().contains("train-00000.bin is truncated"), e.getMessage());
            assertTrue(e.getMessage().contains("byte offset 15000"), e.getMessage());
        }
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
        try (RandomAccessFile f = new RandomAccessFile(tmp.resolve("tokenizer.model").toFile(), "rw")) {
            f.seek(100);
            f.write(0x7f);
        }
        IOException e = assertThrows(IOException.class, d::tokenizer);
        assertTrue(e.getMessage().contains("tokenizer.model"), e.getMessage());
    }
}
