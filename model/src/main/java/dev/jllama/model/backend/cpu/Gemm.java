package dev.jllama.model.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Blocked single-precision matrix multiply {@code C[M,N] (+)= A[M,K] B[K,N]} in the style of BLIS: operands are
 * read through (row, column) strides and packed into cache-sized panels, so the three matmul forms of a linear
 * layer (and any transposition) share one register-blocked micro-kernel of {@code MR x NR} accumulators.
 *
 * <p>Each output tile is computed by one task with a fixed order over K, so results are bit-identical for any
 * thread count.
 */
final class Gemm implements MatmulKernel {
    static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    private static final int LANES = SPECIES.length();
    static final int MR = 6;
    static final int NR = 2 * LANES;
    /** Deepest K block; K is split into equal blocks no deeper than this (288 stays one block, not 256 + 32). */
    private static final int KC = 384;
    private static final int MC = 96;
    private static final int MC_WIDE = 264;
    private static final int NC = 512;

    /** One view of a matrix: element (i, j) is {@code data[offset + i * rowStride + j * colStride]}. */
    record View(float[] data, int offset, int rowStride, int colStride) {
        float get(int i, int j) {
            return data[offset + i * rowStride + j * colStride];
        }
    }

    /** Per-thread packing buffers, allocated once per worker thread. */
    private static final class Scratch {
        final float[] packedA = new float[MC_WIDE * KC];
        final float[] packedB = new float[KC * NC];
        final float[] edge = new float[MR * NR];
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private final Parallel parallel;
    /** B block shared by all row-block tasks of one multiply (a backend runs one kernel at a time). */
    private final float[] sharedB = new float[KC * NC];

    Gemm(Parallel parallel) {
        this.parallel = parallel;
    }

    @Override
    public String describe() {
        return "java-vector (" + SPECIES.vectorBitSize() + "-bit)";
    }

    @Override
    public void multiply(int m, int n, int k, float[] a, boolean transA, float[] b, boolean transB, float[] c,
                         boolean accumulate) {
        multiply(m, n, k, transA ? new View(a, 0, 1, m) : new View(a, 0, k, 1),
                transB ? new View(b, 0, 1, k) : new View(b, 0, n, 1), c, 0, n, accumulate);
    }

    /**
     * @param c          output, row-major with leading dimension {@code ldc}
     * @param accumulate add to C instead of overwriting it
     */
    void multiply(int m, int n, int k, View a, View b, float[] c, int cOffset, int ldc, boolean accumulate) {
        int tilesN = (n + NC - 1) / NC;
        if (tilesN >= 2 * parallel.threads() && m <= MC_WIDE) {
            multiplyWide(m, n, k, a, b, c, cOffset, ldc, accumulate, tilesN);
        } else {
            multiplySharedB(m, n, k, a, b, c, cOffset, ldc, accumulate);
        }
    }

    /**
     * Few rows, many columns (the LM head): tasks own column blocks and cover all rows, so every panel of B is
     * packed exactly once and only the small A is packed again per task.
     */
    private void multiplyWide(int m, int n, int k, View a, View b, float[] c, int cOffset, int ldc, boolean accumulate,
                              int tilesN) {
        parallel.forEach(tilesN, tile -> {
            int n0 = tile * NC;
            int nb = Math.min(NC, n - n0);
            Scratch scratch = SCRATCH.get();
            int kc = depthBlock(k);
            for (int k0 = 0; k0 < k; k0 += kc) {
                int kb = Math.min(kc, k - k0);
                packA(a, 0, m, k0, kb, scratch.packedA);
                packB(b, k0, kb, n0, nb, scratch.packedB, 0, nb);
                block(m, nb, kb, scratch.packedA, scratch.packedB, c, cOffset + n0, ldc, accumulate || k0 > 0, scratch);
            }
        });
    }

    /**
     * The general case: each (column block, depth block) of B is packed once, in parallel, into a buffer shared by
     * all row blocks; then tasks own row blocks and pack only their rows of A.
     */
    private void multiplySharedB(int m, int n, int k, View a, View b, float[] c, int cOffset, int ldc,
                                 boolean accumulate) {
        // Row blocks of at most MC rows, their count a multiple of the thread count so every thread gets as many.
        int threads = parallel.threads();
        int tiles = threads * ((m + threads * MC - 1) / (threads * MC));
        final int rowBlock = ((m + tiles - 1) / tiles + MR - 1) / MR * MR;
        int tilesM = (m + rowBlock - 1) / rowBlock;
        for (int n0 = 0; n0 < n; n0 += NC) {
            int nb = Math.min(NC, n - n0);
            int panels = (nb + NR - 1) / NR;
            int kc = depthBlock(k);
            for (int k0 = 0; k0 < k; k0 += kc) {
                int kb = Math.min(kc, k - k0);
                int col0 = n0, depth0 = k0;
                parallel.forEach(panels, q -> packB(b, depth0, kb, col0, nb, sharedB, q * NR, Math.min(nb, q * NR + NR)));
                boolean add = accumulate || k0 > 0;
                parallel.forEach(tilesM, tile -> {
                    int m0 = tile * rowBlock;
                    int mb = Math.min(rowBlock, m - m0);
                    Scratch scratch = SCRATCH.get();
                    packA(a, m0, mb, depth0, kb, scratch.packedA);
                    block(mb, nb, kb, scratch.packedA, sharedB, c, cOffset + m0 * ldc + col0, ldc, add, scratch);
                });
            }
        }
    }

    /** Equal K blocks of at most {@link #KC}, rounded up to a multiple of 8. */
    private static int depthBlock(int k) {
        int blocks = (k + KC - 1) / KC;
        return Math.min(KC, ((k + blocks - 1) / blocks + 7) / 8 * 8);
    }

    /** Runs the micro-kernel over one packed {@code mb x nb} block of C at {@code cAt}. */
    private static void block(int mb, int nb, int kb, float[] packedA, float[] packedB, float[] c, int cAt, int ldc,
                              boolean add, Scratch scratch) {
        for (int j = 0; j < nb; j += NR) {
            for (int i = 0; i < mb; i += MR) {
                int rows = Math.min(MR, mb - i);
                int cols = Math.min(NR, nb - j);
                int aPanel = (i / MR) * MR * kb;
                int bPanel = (j / NR) * NR * kb;
                int at = cAt + i * ldc + j;
                if (rows == MR && cols == NR) {
                    kernel(kb, packedA, aPanel, packedB, bPanel, c, at, ldc, add);
                } else {
                    kernel(kb, packedA, aPanel, packedB, bPanel, scratch.edge, 0, NR, false);
                    for (int r = 0; r < rows; r++) {
                        for (int q = 0; q < cols; q++) {
                            float value = scratch.edge[r * NR + q];
                            c[at + r * ldc + q] = add ? c[at + r * ldc + q] + value : value;
                        }
                    }
                }
            }
        }
    }

    /** Packs A[m0.., k0..] into row panels of MR: panel p, step k holds MR consecutive values (zero-padded). */
    private static void packA(View a, int m0, int mb, int k0, int kb, float[] packed) {
        float[] data = a.data();
        for (int p = 0; p < mb; p += MR) {
            int base = (p / MR) * MR * kb;
            int rows = Math.min(MR, mb - p);
            if (a.rowStride() == 1) {
                // A stored column-major (a transposed operand): the MR values of one step are contiguous.
                for (int kk = 0; kk < kb; kk++) {
                    int src = a.offset() + (m0 + p) + (k0 + kk) * a.colStride();
                    int dst = base + kk * MR;
                    for (int r = 0; r < MR; r++) packed[dst + r] = r < rows ? data[src + r] : 0f;
                }
                continue;
            }
            for (int r = 0; r < MR; r++) {
                if (r >= rows) {
                    for (int kk = 0; kk < kb; kk++) packed[base + kk * MR + r] = 0f;
                    continue;
                }
                int src = a.offset() + (m0 + p + r) * a.rowStride() + k0 * a.colStride();
                int step = a.colStride();
                for (int kk = 0; kk < kb; kk++, src += step) packed[base + kk * MR + r] = data[src];
            }
        }
    }

    /**
     * Packs columns {@code [from, to)} of the block B[k0.., n0..] (width {@code nb}) into column panels of NR:
     * panel q, step k holds NR consecutive values (zero-padded). {@code from} is a multiple of NR.
     */
    private static void packB(View b, int k0, int kb, int n0, int nb, float[] packed, int from, int to) {
        float[] data = b.data();
        for (int q = from; q < to; q += NR) {
            int base = (q / NR) * NR * kb;
            int cols = Math.min(NR, nb - q);
            if (b.colStride() == 1 && cols == NR) {
                for (int kk = 0; kk < kb; kk++) {
                    int src = b.offset() + (k0 + kk) * b.rowStride() + n0 + q;
                    FloatVector.fromArray(SPECIES, data, src).intoArray(packed, base + kk * NR);
                    FloatVector.fromArray(SPECIES, data, src + LANES).intoArray(packed, base + kk * NR + LANES);
                }
                continue;
            }
            for (int col = 0; col < NR; col++) {
                if (col >= cols) {
                    for (int kk = 0; kk < kb; kk++) packed[base + kk * NR + col] = 0f;
                    continue;
                }
                int src = b.offset() + k0 * b.rowStride() + (n0 + q + col) * b.colStride();
                int step = b.rowStride();
                for (int kk = 0; kk < kb; kk++, src += step) packed[base + kk * NR + col] = data[src];
            }
        }
    }

    /** The MR x NR register block: 12 vector accumulators, one broadcast per row and step. */
    private static void kernel(int kb, float[] pa, int ai, float[] pb, int bi, float[] c, int ci, int ldc, boolean add) {
        FloatVector c00 = FloatVector.zero(SPECIES), c01 = FloatVector.zero(SPECIES);
        FloatVector c10 = FloatVector.zero(SPECIES), c11 = FloatVector.zero(SPECIES);
        FloatVector c20 = FloatVector.zero(SPECIES), c21 = FloatVector.zero(SPECIES);
        FloatVector c30 = FloatVector.zero(SPECIES), c31 = FloatVector.zero(SPECIES);
        FloatVector c40 = FloatVector.zero(SPECIES), c41 = FloatVector.zero(SPECIES);
        FloatVector c50 = FloatVector.zero(SPECIES), c51 = FloatVector.zero(SPECIES);
        for (int kk = 0; kk < kb; kk++, ai += MR, bi += NR) {
            FloatVector b0 = FloatVector.fromArray(SPECIES, pb, bi);
            FloatVector b1 = FloatVector.fromArray(SPECIES, pb, bi + LANES);
            FloatVector a;
            a = FloatVector.broadcast(SPECIES, pa[ai]);
            c00 = b0.fma(a, c00); c01 = b1.fma(a, c01);
            a = FloatVector.broadcast(SPECIES, pa[ai + 1]);
            c10 = b0.fma(a, c10); c11 = b1.fma(a, c11);
            a = FloatVector.broadcast(SPECIES, pa[ai + 2]);
            c20 = b0.fma(a, c20); c21 = b1.fma(a, c21);
            a = FloatVector.broadcast(SPECIES, pa[ai + 3]);
            c30 = b0.fma(a, c30); c31 = b1.fma(a, c31);
            a = FloatVector.broadcast(SPECIES, pa[ai + 4]);
            c40 = b0.fma(a, c40); c41 = b1.fma(a, c41);
            a = FloatVector.broadcast(SPECIES, pa[ai + 5]);
            c50 = b0.fma(a, c50); c51 = b1.fma(a, c51);
        }
        store(c00, c01, c, ci, add);
        store(c10, c11, c, ci + ldc, add);
        store(c20, c21, c, ci + 2 * ldc, add);
        store(c30, c31, c, ci + 3 * ldc, add);
        store(c40, c41, c, ci + 4 * ldc, add);
        store(c50, c51, c, ci + 5 * ldc, add);
    }

    private static void store(FloatVector v0, FloatVector v1, float[] c, int at, boolean add) {
        if (add) {
            v0 = v0.add(FloatVector.fromArray(SPECIES, c, at));
            v1 = v1.add(FloatVector.fromArray(SPECIES, c, at + LANES));
        }
        v0.intoArray(c, at);
        v1.intoArray(c, at + LANES);
    }
}
