package dev.jllama.tornado;

/**
 * How {@link SplitK} splits a GEMM whose tile grid cannot fill the GPU: the weight gradients of the small
 * projections ({@code dW[out,in] += dOut^T X}, e.g. 288x288 with K = 8192 rows) have only 9-18 128x128 tiles, so
 * 9-18 work-groups each walk all of K while the other SMs idle. Such a GEMM runs as {@code slices} work-groups per
 * tile, each over one K slice of {@code kSlice} (the last may be shorter); {@code slices == 1}: no split.
 * Plain Java, so that it builds and is tested without a TornadoVM SDK.
 */
record SplitKPlan(int slices, int kSlice) {
    /** Tile grids with at least this many work-groups are left alone. */
    static final int MAX_TILES = 64;
    /** K below this is too short to be worth a second launch. */
    static final int MIN_K = 1024;
    /** Work-groups to aim for: two per SM of an H200 (132 SMs), so every SM has one to switch to. */
    static final int TARGET_GROUPS = 2 * 132;
    static final int MAX_SLICES = 32;
    /** The shortest K slice: 8 of the kernels' 16-deep slices, so the partial stores stay a small overhead. */
    static final int MIN_SLICE_K = 128;

    /**
     * How to split {@code C[m,n] = A[m,k] B[k,n]} for a kernel with {@code tile x tile} work-group tiles that walks
     * K in steps of {@code kStep}: every K slice but the last is a whole number of steps, so only the last slice of
     * the last group takes checked loads.
     */
    static SplitKPlan of(int m, int n, int k, int tile, int kStep) {
        long tiles = (long) ((m + tile - 1) / tile) * ((n + tile - 1) / tile);
        if (tiles >= MAX_TILES || k < MIN_K) return new SplitKPlan(1, k);
        long wanted = Math.min((TARGET_GROUPS + tiles - 1) / tiles, Math.min(MAX_SLICES, k / MIN_SLICE_K));
        if (wanted <= 1) return new SplitKPlan(1, k);
        int per = (int) ((k + wanted - 1) / wanted);
        int kSlice = (per + kStep - 1) / kStep * kStep;
        int slices = (k + kSlice - 1) / kSlice;
        return slices <= 1 ? new SplitKPlan(1, k) : new SplitKPlan(slices, kSlice);
    }
}
