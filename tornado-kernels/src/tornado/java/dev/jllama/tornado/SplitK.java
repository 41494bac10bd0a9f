package dev.jllama.tornado;

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
    static void reduce(KernelContext c, FloatArray mem, IntArray imem, IntArray a, FloatArray f) {
        int i = c.globalIdx;
        int n = a.get(3), mn = a.get(2) * n;
        if (i < mn) {
            int partial = a.get(1) + i;
            float s = 0f;
            for (int z = 0; z < a.get(5); z++) s += mem.get(partial + z * mn);
            int at = a.get(0) + (i / n) * a.get(4) + i % n;
            if (a.get(6) != 0) s += mem.get(at);
            mem.set(at, s);
        }
    }
}
