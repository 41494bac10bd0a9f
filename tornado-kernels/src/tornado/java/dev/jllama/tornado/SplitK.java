package dev.jllama.tornado;

import static dev.jllama.tornado.ArenaMemory.ARENA;
import static dev.jllama.tornado.ArenaMemory.load;
import static dev.jllama.tornado.ArenaMemory.store;

import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * The reduction of split-K GEMMs ({@link SplitKPlan}): S work-groups per tile (grid z), each over one K slice,
 * write their partial C into a scratch region of S*M*N floats; {@link #reduce} then adds the S partials in slice
 * order into C. No atomics, so the result is deterministic.
 */
final class SplitK {
    private SplitK() {}

    /**
     * {@code a}: c, partial, M, N, ldc, slices, accumulate. One thread per element of C (1D grid over M*N):
     * {@code C[m,n] (+)= sum_z partial[z*M*N + m*N + n]}, z in increasing order.
     */
    static void reduce(KernelContext c, FloatArray m0, FloatArray m1, FloatArray m2, FloatArray m3, FloatArray m4,
                       FloatArray m5, FloatArray m6, FloatArray m7, IntArray imem, IntArray a, FloatArray f) {
        int i = c.globalIdx;
        int n = a.get(3), mn = a.get(2) * n;
        if (i < mn) {
            int partial = a.get(1) + i, partialArena = a.get(ARENA + 1), cArena = a.get(ARENA);
            float s = 0f;
            for (int z = 0; z < a.get(5); z++) s += load(m0, m1, m2, m3, m4, m5, m6, m7, partialArena, partial + z * mn);
            int at = a.get(0) + (i / n) * a.get(4) + i % n;
            if (a.get(6) != 0) s += load(m0, m1, m2, m3, m4, m5, m6, m7, cArena, at);
            store(m0, m1, m2, m3, m4, m5, m6, m7, cArena, at, s);
        }
    }
}
