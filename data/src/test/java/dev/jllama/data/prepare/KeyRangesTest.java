package dev.jllama.data.prepare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Key ranges follow the keys' sort order, and a key and its node id fall in the same range. */
class KeyRangesTest {

    @Test
    void rangesAreInKeyOrderAndAgreeWithNodeIds() {
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < 2000; i++) keys.add(Doc.of(new Document("s", "l", "text " + i)).key());
        keys.add("0".repeat(32));
        keys.add("f".repeat(32));
        keys.sort(null);
        for (int partitions : new int[] {1, 3, 8, 200}) {
            KeyRanges ranges = new KeyRanges(partitions);
            int previous = 0;
            for (String key : keys) {
                int p = ranges.getPartition(key);
                assertTrue(p >= previous && p < partitions, key + " in range " + p + " after " + previous);
                assertEquals(p, ranges.getPartition(Long.parseUnsignedLong(key, 0, 16, 16)));
                previous = p;
            }
            assertEquals(partitions - 1, previous);
        }
    }
}
