package dev.jllama.tornado;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Splitting the device memory into arenas, and placing tensors across them. */
class ArenaSetTest {

    @Test
    void oneArenaWhenTheTotalFits() {
        ArenaSet set = new ArenaSet(1 << 20, ArenaSet.MAX_ARENA_ELEMENTS, 8);
        assertEquals(1, set.count());
        assertEquals(1 << 20, set.capacity(0));
    }

    /** The 1.1B model's ~35 GB: five arenas of equal size, none over the int-indexed limit. */
    @Test
    void largeTotalIsSplitEvenlyUnderTheLimit() {
        long total = 35_000L << 18;
        ArenaSet set = new ArenaSet(total, ArenaSet.MAX_ARENA_ELEMENTS, 8);
        assertEquals(5, set.count());
        long sum = 0;
        for (int a = 0; a < set.count(); a++) {
            assertTrue(set.capacity(a) <= ArenaSet.MAX_ARENA_ELEMENTS);
            assertTrue(set.capacity(a) >= set.capacity(0) - ArenaAllocator.ALIGN, "arena " + a + " " + set.capacity(a));
            sum += set.capacity(a);
        }
        assertEquals(total, sum);
        assertEquals(total, set.capacity());
    }

    /** PoCL's 4 GiB largest allocation: 6 GiB of arenas become two, each under it; a GPU's 35 GB leaves 8 GiB. */
    @Test
    void anArenaStaysBelowTheDevicesLargestAllocation() {
        long poclElements = ArenaSet.arenaElements(4 * ArenaSet.MAX_ARENA_ELEMENTS, 4L << 30);
        assertTrue(poclElements * Float.BYTES < 4L << 30, "arena of " + poclElements + " floats");
        assertTrue(poclElements * Float.BYTES >= (4L << 30) - (2 << 20), "arena of " + poclElements + " floats");
        assertEquals(0, poclElements % ArenaAllocator.ALIGN);
        ArenaSet set = new ArenaSet(6L << 28, poclElements, 8);
        assertEquals(2, set.count());
        assertEquals(3L << 28, set.capacity(0));

        long gpuElements = ArenaSet.arenaElements(4 * ArenaSet.MAX_ARENA_ELEMENTS, 35_000_000_000L);
        assertTrue(gpuElements <= ArenaSet.MAX_ARENA_ELEMENTS && gpuElements > ArenaSet.MAX_ARENA_ELEMENTS - 64);
        assertEquals(1L << 18, ArenaSet.arenaElements(1L << 20, 4L << 30), "a smaller configured arena is kept");
        assertEquals(1L << 18, ArenaSet.arenaElements(1L << 20, 0), "a device that reports no limit");
    }

    @Test
    void moreArenasThanTheKernelsAddressIsRejectedNamingTheKnobs() {
        var e = assertThrows(IllegalArgumentException.class, () -> new ArenaSet(9L << 20, 1 << 20, 8));
        assertTrue(e.getMessage().contains("9 arenas") && e.getMessage().contains("jllama.tornado.memoryMiB"),
                e.getMessage());
    }

    /** First fit in arena order; a tensor never spans two arenas; freed room is reused. */
    @Test
    void tensorsFillTheArenasInOrderWithoutSpanning() {
        ArenaSet set = new ArenaSet(4096, 1024, 8);
        assertEquals(4, set.count());
        List<ArenaSet.Slot> slots = new ArrayList<>();
        for (int t = 0; t < 4; t++) slots.add(set.allocate("t" + t, 600));
        for (int t = 0; t < 4; t++) assertEquals(new ArenaSet.Slot(t, 0), slots.get(t));
        // 384 floats left per arena: 600 more fit nowhere, 300 do, back in arena 0.
        assertThrows(IllegalStateException.class, () -> set.allocate("t4", 600));
        assertEquals(new ArenaSet.Slot(0, 640), set.allocate("t5", 300));
        set.free(slots.get(1), 600);
        assertEquals(new ArenaSet.Slot(1, 0), set.allocate("t6", 1000));
        assertEquals(3 * 640 + 320 + 1024, set.used());
        assertEquals(4, set.reached());
    }
}
