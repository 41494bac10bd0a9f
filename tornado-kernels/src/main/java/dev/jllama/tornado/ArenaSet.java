package dev.jllama.tornado;

/**
 * The float tensors' device memory as several arenas, each one device array: a TornadoVM array is indexed by
 * {@code int}, so one holds fewer than 2^31 floats (8 GiB) and a model with its gradients, AdamW moments and
 * activations past that needs more than one. The total is split evenly into the fewest arenas of at most
 * {@code arenaElements} each; a tensor lives inside one arena (first fit, arenas in order), so a tensor larger
 * than half an arena has that arena to itself but for small ones.
 */
final class ArenaSet {
    /** The most floats one device array holds, less a margin for TornadoVM's array header. */
    static final long MAX_ARENA_ELEMENTS = Integer.MAX_VALUE - (1L << 20);

    /** Room under the device's largest allocation for TornadoVM's array header (it needs strictly less). */
    private static final long HEADER_ROOM_BYTES = 1 << 20;

    /** Where a tensor lives: arena index and element offset inside it. */
    record Slot(int arena, int offset) {}

    private final ArenaAllocator[] arenas;
    private final long capacity;
    /** 1 + the highest arena index a tensor was ever placed in. */
    private int reached;

    /**
     * @param totalElements floats of all arenas together
     * @param arenaElements the most floats of one arena (at most {@link #MAX_ARENA_ELEMENTS})
     * @param maxArenas how many arenas the kernels can address
     */
    ArenaSet(long totalElements, long arenaElements, int maxArenas) {
        if (arenaElements < ArenaAllocator.ALIGN || arenaElements > MAX_ARENA_ELEMENTS) {
            throw new IllegalArgumentException("TornadoVM arena of " + arenaElements + " floats: must be "
                    + ArenaAllocator.ALIGN + " to " + MAX_ARENA_ELEMENTS + " (jllama.tornado.arenaMiB)");
        }
        if (totalElements < 1) throw new IllegalArgumentException("TornadoVM device memory of " + totalElements + " floats");
        long count = (totalElements + arenaElements - 1) / arenaElements;
        if (count > maxArenas) {
            throw new IllegalArgumentException("TornadoVM device memory of " + (totalElements >> 18) + " MiB needs "
                    + count + " arenas of at most " + (arenaElements >> 18) + " MiB, more than the " + maxArenas
                    + " the kernels address; lower -Djllama.tornado.memoryMiB / JLLAMA_TORNADO_MEMORY_MIB or raise"
                    + " -Djllama.tornado.arenaMiB (an arena is at most the device's largest allocation)");
        }
        long each = (totalElements / count + ArenaAllocator.ALIGN - 1) / ArenaAllocator.ALIGN * ArenaAllocator.ALIGN;
        each = Math.min(each, arenaElements);
        arenas = new ArenaAllocator[(int) count];
        long left = totalElements;
        for (int a = 0; a < count; a++) {
            long size = a == count - 1 ? left : Math.min(each, left);
            arenas[a] = new ArenaAllocator("float arena " + a, size);
            left -= size;
        }
        capacity = totalElements;
    }

    /**
     * The most floats of one arena: {@code configuredBytes}, but below the device's largest single allocation
     * (OpenCL's CL_DEVICE_MAX_MEM_ALLOC_SIZE, which TornadoVM will not exceed: a quarter of global memory on many
     * GPUs, on PoCL a figure that follows free memory) and {@link #MAX_ARENA_ELEMENTS}, rounded down to the alignment.
     *
     * @param deviceMaxAllocationBytes the device's figure; zero or less where the driver reports none
     */
    static long arenaElements(long configuredBytes, long deviceMaxAllocationBytes) {
        long bytes = configuredBytes;
        if (deviceMaxAllocationBytes > 2 * HEADER_ROOM_BYTES) {
            bytes = Math.min(bytes, deviceMaxAllocationBytes - HEADER_ROOM_BYTES);
        }
        long elements = Math.min(bytes / Float.BYTES, MAX_ARENA_ELEMENTS);
        return elements / ArenaAllocator.ALIGN * ArenaAllocator.ALIGN;
    }

    /** First fit over the arenas in order. */
    Slot allocate(String name, int size) {
        for (int a = 0; a < arenas.length; a++) {
            int offset = arenas[a].tryAllocate(size);
            if (offset >= 0) {
                reached = Math.max(reached, a + 1);
                return new Slot(a, offset);
            }
        }
        StringBuilder free = new StringBuilder();
        for (int a = 0; a < arenas.length; a++) {
            free.append(a == 0 ? "" : ", ").append(arenas[a].capacity() - arenas[a].used()).append(" of ")
                    .append(arenas[a].capacity());
        }
        throw new IllegalStateException("TornadoVM backend: float arenas are full: '" + name + "' needs " + size
                + " elements, free per arena (fragmented or too small): " + free
                + "; raise -Djllama.tornado.memoryMiB / JLLAMA_TORNADO_MEMORY_MIB");
    }

    void free(Slot slot, int size) {
        arenas[slot.arena()].free(slot.offset(), size);
    }

    int count() {
        return arenas.length;
    }

    /** How many arenas, from the first, have held a tensor. */
    int reached() {
        return reached;
    }

    /** Floats of arena {@code a}. */
    long capacity(int a) {
        return arenas[a].capacity();
    }

    /** Floats of all arenas. */
    long capacity() {
        return capacity;
    }

    /** Floats held by live tensors (rounded up to the alignment), all arenas together. */
    long used() {
        long used = 0;
        for (ArenaAllocator arena : arenas) used += arena.used();
        return used;
    }
}
