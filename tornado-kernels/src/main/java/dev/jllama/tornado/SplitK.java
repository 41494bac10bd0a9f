package dev.jllama.tornado;

import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * Split-K for GEMMs whose tile grid cannot fill the GPU: the weight gradients of the small projections
 * ({@code dW[out,in] += dOut^T X}, e.g. 288x288 with K = 8192 rows) have only 9-18 128x128 tiles, so 9-18
 * work-groups each walk all of K while the other SMs idle. Such a GEMM runs as S work-groups per tile (grid z),
 * each over one K slice, writing its partial C into a scratch region of S*M*N floats; {@link #reduce} then adds
 * the S partials in slice order into C. No atomics, so the result is deterministic.
 */
final class SplitK {
    /** Tile grids with at least this many work-groups are left alone. */
    static final int MAX_TILES = 64;
    /** K below this is too short to be worth a second launch. */
    static final int MIN_K = 1024;
    /** Work-groups to aim for: two per SM of an H200 (132 SMs), so every SM has one to switch to. */
    static final int TARGET_GROUPS = 2 * 132;
    static final int MAX_SLICES = 32;
    /** The shortest K slice: 8 of the kernels' 16-deep slices, so the partial stores stay a small overhead. */
    static final int MIN_SLICE_K = 128;

    /** S slices of {@code kSlice} each (the last may be shorter); {@code slices == 1}: no split. */
    record Plan(int slices, int kSlice) {}

    private SplitK() {}

    /** How to split {@code C[m,n] = A[m,k] B[k,n]} for a kernel with {@code tile x tile} work-group tiles. */
    static Plan plan(int m, int n, int k, int tile) {
        long tiles = (long) ((m + tile - 1) / tile) * ((n + tile - 1) / tile);
        if (tiles >= MAX_TILES || k < MIN_K) return new Plan(1, k);
        long wanted = Math.min((TARGET_GROUPS + tiles - 1) / tiles, Math.min(MAX_SLICES, k / MIN_SLICE_K));
        if (wanted <= 1) return new Plan(1, k);
        // Whole 16-deep slices per work-group, so only the last K slice of the last group takes checked loads.
        int per = (int) ((k + wanted - 1) / wanted);
        int kSlice = (per + MatmulKernel128.SLICE - 1) / MatmulKernel128.SLICE * MatmulKernel128.SLICE;
        int slices = (k + kSlice - 1) / kSlice;
        return slices <= 1 ? new Plan(1, k) : new Plan(slices, kSlice);
    }

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
