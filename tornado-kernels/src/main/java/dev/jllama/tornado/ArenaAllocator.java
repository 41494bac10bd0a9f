package dev.jllama.tornado;

import java.util.Map;
import java.util.TreeMap;

/**
 * First-fit allocation of element ranges inside one device array, with coalescing on free. Ranges are aligned
 * to {@link #ALIGN} elements so that every tensor starts on a 256-byte boundary (coalesced loads).
 */
final class ArenaAllocator {
    static final int ALIGN = 64;

    private final String what;
    private final long capacity;
    /** start -> length of each free range, ordered by start. */
    private final TreeMap<Long, Long> free = new TreeMap<>();
    private long used;

    ArenaAllocator(String what, long capacity) {
        this.what = what;
        this.capacity = capacity;
        free.put(0L, capacity);
    }

    /** @return the offset of a fresh range of at least {@code size} elements */
    int allocate(String name, int size) {
        int offset = tryAllocate(size);
        if (offset >= 0) return offset;
        throw new IllegalStateException("TornadoVM backend: " + what + " arena is full: '" + name + "' needs " + size
                + " elements, " + (capacity - used) + " of " + capacity + " are free (fragmented or too small);"
                + " raise -Djllama.tornado.memoryMiB / JLLAMA_TORNADO_MEMORY_MIB");
    }

    /** @return the offset of a fresh range of at least {@code size} elements, or -1 when no free range is large enough */
    int tryAllocate(int size) {
        long need = Math.max(ALIGN, (size + ALIGN - 1L) / ALIGN * ALIGN);
        for (Map.Entry<Long, Long> range : free.entrySet()) {
            long length = range.getValue();
            if (length >= need) {
                // Read before remove: TreeMap may reuse a removed entry's node for its successor's key and value.
                long start = range.getKey();
                free.remove(start);
                if (length > need) free.put(start + need, length - need);
                used += need;
                return Math.toIntExact(start);
            }
        }
        return -1;
    }

    void free(int offset, int size) {
        long start = offset;
        long length = Math.max(ALIGN, (size + ALIGN - 1L) / ALIGN * ALIGN);
        Map.Entry<Long, Long> overlap = free.floorEntry(start + length - 1);
        if (overlap != null && overlap.getKey() + overlap.getValue() > start) {
            throw new IllegalStateException("TornadoVM backend: " + what + " range [" + start + ", " + (start + length)
                    + ") is freed twice (it overlaps the free range at " + overlap.getKey() + ")");
        }
        used -= length;
        Map.Entry<Long, Long> before = free.floorEntry(start);
        if (before != null && before.getKey() + before.getValue() == start) {
            start = before.getKey();
            length += before.getValue();
            free.remove(before.getKey());
        }
        Long afterLength = free.remove(start + length);
        if (afterLength != null) length += afterLength;
        free.put(start, length);
    }

    long used() {
        return used;
    }

    long capacity() {
        return capacity;
    }
}
