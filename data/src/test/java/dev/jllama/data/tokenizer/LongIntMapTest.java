package dev.jllama.data.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The encoder's merge table against java.util.HashMap, across growth and collisions. */
class LongIntMapTest {

    @Test
    void agreesWithHashMapWhileGrowing() {
        LongIntMap map = new LongIntMap(1);
        Map<Long, Integer> reference = new HashMap<>();
        SplittableRandom random = new SplittableRandom(4);
        for (int i = 0; i < 20_000; i++) {
            // Few distinct high bits, so many keys share slots; 0 and negative keys included.
            long key = i % 3 == 0 ? random.nextLong() : (long) random.nextInt(5000) << (i % 2 == 0 ? 32 : 0);
            int value = random.nextInt(Integer.MAX_VALUE);
            map.putIfAbsent(key, value);
            reference.putIfAbsent(key, value);
        }
        map.putIfAbsent(0L, 7);
        reference.putIfAbsent(0L, 7);
        for (Map.Entry<Long, Integer> e : reference.entrySet()) assertEquals(e.getValue(), map.get(e.getKey()), "key " + e.getKey());
        for (int i = 0; i < 1000; i++) {
            long absent = random.nextLong();
            assertEquals(reference.getOrDefault(absent, -1), map.get(absent));
        }
    }

    @Test
    void firstWriterWins() {
        LongIntMap map = new LongIntMap(16);
        map.putIfAbsent(-5, 1);
        map.putIfAbsent(-5, 2);
        assertEquals(1, map.get(-5));
        assertEquals(-1, map.get(5));
        map.putIfAbsent(5, 0);
        assertEquals(0, map.get(5), "0 is a value, not absence");
    }
}
