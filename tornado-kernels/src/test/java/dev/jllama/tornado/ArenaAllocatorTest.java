package dev.jllama.tornado;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The arena never hands out a range that overlaps a live one, and rejects a double free. */
class ArenaAllocatorTest {

    @Test
    void liveRangesNeverOverlapUnderRandomAllocationAndFree() {
        ArenaAllocator arena = new ArenaAllocator("float", 1 << 24);
        SplittableRandom random = new SplittableRandom(3);
        List<int[]> live = new ArrayList<>();
        for (int op = 0; op < 20_000; op++) {
            if (live.isEmpty() || random.nextInt(3) > 0) {
                int size = random.nextInt(1, 20_000);
                int at = arena.allocate("t" + op, size);
                for (int[] r : live) {
                    assertTrue(at + size <= r[0] || r[0] + r[1] <= at,
                            "op " + op + ": [" + at + ", " + (at + size) + ") overlaps [" + r[0] + ", " + (r[0] + r[1]) + ")");
                }
                live.add(new int[] {at, size});
            } else {
                int[] r = live.remove(random.nextInt(live.size()));
                arena.free(r[0], r[1]);
            }
            if (live.size() > 600) {
                for (int[] r : live) arena.free(r[0], r[1]);
                live.clear();
            }
        }
        for (int[] r : live) arena.free(r[0], r[1]);
        assertEquals(0, arena.used());
        assertEquals(1 << 24, arena.allocate("everything", 1 << 24) + (1 << 24));
    }

    @Test
    void doubleFreeIsRejected() {
        ArenaAllocator arena = new ArenaAllocator("float", 1 << 16);
        int a = arena.allocate("a", 100);
        arena.allocate("b", 100);
        arena.free(a, 100);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> arena.free(a, 100));
        assertTrue(e.getMessage().contains("freed twice"), e.getMessage());
    }
}
