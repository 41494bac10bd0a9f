package dev.jllama.data.shard;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Evaluation windows are the split's windows in stored order: a function of the dataset alone (no seed), every
 * target once when uncapped, spread evenly when capped.
 */
class EvalWindowsTest {
    private static final Configuration CONF = new Configuration();
    private static final int VOCAB = 1 << 24;
    private static final int SEQ = 8;
    /** Validation shards (after 2 training shards, so their shard ids are 2, 3, 4); the middle one has no window. */
    private static final long[] VAL = {300, 5, 130};

    @TempDir
    Path tmp;

    private Dataset dataset() throws IOException {
        TestDatasets.write(tmp.toString(), CONF, VOCAB, 256, new long[] {100, 50}, VAL);
        return Dataset.open(tmp.toString(), CONF);
    }

    /** Window w of validation shard s, as the stored-order definition says. */
    private static int[] expected(int s, long w) {
        int[] window = new int[SEQ + 1];
        for (int i = 0; i <= SEQ; i++) window[i] = TestDatasets.token(2 + s, w * SEQ + i, VOCAB);
        return window;
    }

    @Test
    void allWindowsInStoredOrder() throws IOException {
        Dataset d = dataset();
        List<int[]> windows = EvalWindows.read(d, "val", SEQ, 0);
        long first = (300 - 1) / SEQ, third = (130 - 1) / SEQ;
        assertEquals(first + third, windows.size());
        assertEquals(first + third, EvalWindows.count(d, "val", SEQ));
        for (int w = 0; w < first; w++) assertArrayEquals(expected(0, w), windows.get(w), "window " + w);
        for (int w = 0; w < third; w++) assertArrayEquals(expected(2, w), windows.get((int) first + w));
        assertEquals(windows.size(), EvalWindows.read(d, "val", SEQ, 1000).size(), "a cap above the count reads all");
    }

    @Test
    void aCapSpreadsTheWindowsEvenlyOverTheSplit() throws IOException {
        Dataset d = dataset();
        List<int[]> all = EvalWindows.read(d, "val", SEQ, 0);
        List<int[]> capped = EvalWindows.read(d, "val", SEQ, 10);
        assertEquals(10, capped.size());
        for (int i = 0; i < 10; i++) assertArrayEquals(all.get(i * all.size() / 10), capped.get(i), "window " + i);
    }

    @Test
    void tokensAreTheSplitInStoredOrder() throws IOException {
        Dataset d = dataset();
        int[] tokens = EvalWindows.tokens(d, "val", Long.MAX_VALUE);
        assertEquals(435, tokens.length);
        int at = 0;
        for (int s = 0; s < VAL.length; s++) {
            for (long i = 0; i < VAL[s]; i++) assertEquals(TestDatasets.token(2 + s, i, VOCAB), tokens[at++]);
        }
        assertArrayEquals(java.util.Arrays.copyOf(tokens, 302), EvalWindows.tokens(d, "val", 302));
    }
}
