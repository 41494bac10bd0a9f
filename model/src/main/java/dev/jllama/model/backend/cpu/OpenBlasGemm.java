package dev.jllama.model.backend.cpu;

/**
 * The matmul on native OpenBLAS (one OpenBLAS thread per call): C is cut into tiles along its longer side, and the
 * backend's thread pool runs one single-threaded {@code sgemm} per tile.
 *
 * <p>The tiles depend only on the shape, never on the thread count. That is what keeps results bit-identical for
 * any number of threads: OpenBLAS's own threading, like any other split, changes which of its kernel variants
 * computes an element (measured: OpenBLAS 0.3.31 with 1 and 2 threads differs in the last bits on 263 x 301 x 517
 * with its Cooperlake kernel, and on every shape with its Haswell kernel).
 */
final class OpenBlasGemm implements MatmulKernel {
    /** Tiles are at most this wide, so the operand every tile packs again stays small against the work. */
    private static final int MAX_TILE = 256;
    /** At least this many tiles where the side allows {@link #MIN_TILE}-wide ones: work for a few threads. */
    private static final int MIN_TILES = 4;
    private static final int MIN_TILE = 64;
    /** Tile widths are multiples of OpenBLAS's widest register block (16 floats). */
    private static final int ALIGN = 16;

    private final OpenBlas blas;
    private final Parallel parallel;

    OpenBlasGemm(OpenBlas blas, Parallel parallel) {
        this.blas = blas;
        this.parallel = parallel;
    }

    @Override
    public String describe() {
        return blas.describe();
    }

    /** Width of the tiles that cut a side of {@code length} (the last one may be narrower). */
    static int tileWidth(int length) {
        int tiles = Math.max((length + MAX_TILE - 1) / MAX_TILE, Math.min(MIN_TILES, length / MIN_TILE));
        tiles = Math.max(1, tiles);
        int width = (length + tiles - 1) / tiles;
        return (width + ALIGN - 1) / ALIGN * ALIGN;
    }

    /** Inner dimensions at least this many times C's longer side are cut instead of C: {@link #innerChunks}. */
    private static final int INNER_DOMINANCE = 8;
    /** Inner chunks are multiples of this (bf16 pairs, OpenBLAS's unrolling). */
    private static final int INNER_ALIGN = 64;

    /**
     * Chunks of the inner dimension {@code k} to multiply separately and sum in order, or 0 to cut C into tiles: a
     * product whose {@code k} dwarfs C (the LM head's input gradient, k = vocabulary) would otherwise pack its whole
     * k-long operand again in every tile. The shape alone decides, as for tiles.
     */
    static int innerChunks(int m, int n, int k) {
        if (k < INNER_DOMINANCE * Math.max(m, n) || k < MIN_TILES * MAX_TILE) return 0;
        return MIN_TILES;
    }

    /** Width of the inner chunks that cut {@code k} into {@link #innerChunks} (the last one may be narrower). */
    static int innerChunkWidth(int k, int chunks) {
        int width = (k + chunks - 1) / chunks;
        return (width + INNER_ALIGN - 1) / INNER_ALIGN * INNER_ALIGN;
    }

    /** One single-threaded product on rows {@code [m0, m0 + rows)} and columns {@code [n0, n0 + cols)} of C. */
    interface Tile {
        void run(int m0, int rows, int n0, int cols);
    }

    /**
     * Cuts an {@code m x n} C into tiles along its longer side, widths from {@link #tileWidth} (the shape alone), and
     * runs them on the pool.
     */
    static void forEachTile(Parallel parallel, int m, int n, Tile tile) {
        if (n >= m) {
            int width = tileWidth(n);
            parallel.forEach((n + width - 1) / width, t -> tile.run(0, m, t * width, Math.min(width, n - t * width)));
        } else {
            int width = tileWidth(m);
            parallel.forEach((m + width - 1) / width, t -> tile.run(t * width, Math.min(width, m - t * width), 0, n));
        }
    }

    @Override
    public void multiply(int m, int n, int k, float[] a, boolean transA, float[] b, boolean transB, float[] c,
                         boolean accumulate) {
        int lda = Math.max(1, transA ? m : k), ldb = Math.max(1, transB ? k : n);
        float beta = accumulate ? 1f : 0f;
        forEachTile(parallel, m, n, (m0, rows, n0, cols) -> blas.sgemm(transA, transB, rows, cols, k,
                a, transA ? m0 : m0 * lda, lda, b, transB ? n0 * ldb : n0, ldb, beta, c, m0 * n + n0, n));
    }
}
