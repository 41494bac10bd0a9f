package dev.jllama.tornado;

import static dev.jllama.tornado.ArenaMemory.ARENA;
import static dev.jllama.tornado.ArenaMemory.load;

import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * One tiled GEMM for the three matmul forms: {@code C[m,n] (+)= sum_k A(m,k) B(k,n)} with
 * {@code A(m,k) = A[aOff + m*aRs + k*aCs]} and {@code B(k,n) = B[bOff + k*bRs + n*bCs]} (each in its arena), so the transposed
 * operands of the backward forms are strides, not copies. A 16x16 work-group computes a 64x64 tile of C, each
 * thread a 4x4 register block (rows {@code ty + 16i}, columns {@code tx + 16j}, which keeps local-memory reads
 * conflict-free), walking K in slices of 16 staged in local memory. Tile loads follow whichever of the operand's
 * axes is contiguous, so global reads coalesce in every form.
 */
final class MatmulKernel {
    static final int TILE = 64;
    static final int SLICE = 16;
    static final int THREADS = 16;

    private MatmulKernel() {}

    /**
     * {@code a}: c, a, b, M, N, K, aRs, aCs, bRs, bCs, ldc, accumulate, kSlice, cSlice. Grid: (ceil(N/64)*16,
     * ceil(M/64)*16, S), local 16x16x1; work-group z covers one K slice, as in {@link MatmulKernel128#gemm}.
     */
    static void gemm(KernelContext ctx, FloatArray m0, FloatArray m1, FloatArray m2, FloatArray m3, FloatArray m4,
                     FloatArray m5, FloatArray m6, FloatArray m7, IntArray imem, IntArray a, FloatArray f) {
        float[] as = ctx.allocateFloatLocalArray(SLICE * TILE);
        float[] bs = ctx.allocateFloatLocalArray(SLICE * TILE);
        int tx = ctx.localIdx, ty = ctx.localIdy;
        int lid = ty * THREADS + tx;
        int n0 = ctx.groupIdx * TILE + tx;
        int row0 = ctx.groupIdy * TILE + ty;
        int mBase = ctx.groupIdy * TILE, nBase = ctx.groupIdx * TILE;
        int M = a.get(3), N = a.get(4);
        int aRs = a.get(6), aCs = a.get(7), bRs = a.get(8), bCs = a.get(9), ldc = a.get(10);
        int acc = a.get(11);
        int kSlice = a.get(12), z = ctx.groupIdz;
        int kBegin = z * kSlice, kRest = a.get(5) - kBegin;
        int K = kRest < kSlice ? kRest : kSlice;
        int cOff = a.get(0) + z * a.get(13), aOff = a.get(1) + kBegin * aCs, bOff = a.get(2) + kBegin * bRs;
        int cArena = a.get(ARENA), aArena = a.get(ARENA + 1), bArena = a.get(ARENA + 2);
        float c00 = 0f, c01 = 0f, c02 = 0f, c03 = 0f;
        float c10 = 0f, c11 = 0f, c12 = 0f, c13 = 0f;
        float c20 = 0f, c21 = 0f, c22 = 0f, c23 = 0f;
        float c30 = 0f, c31 = 0f, c32 = 0f, c33 = 0f;
        for (int k0 = 0; k0 < K; k0 += SLICE) {
            // Stage A(mBase.., k0..) as as[k * TILE + m] and B(k0.., nBase..) as bs[k * TILE + n].
            for (int p = 0; p < 4; p++) {
                int e = lid + p * 256;
                int mm, kk;
                if (aCs == 1) {
                    mm = e / SLICE;
                    kk = e % SLICE;
                } else {
                    kk = e / TILE;
                    mm = e % TILE;
                }
                int gm = mBase + mm, gk = k0 + kk;
                float v = 0f;
                if (gm < M && gk < K) v = load(m0, m1, m2, m3, m4, m5, m6, m7, aArena, aOff + gm * aRs + gk * aCs);
                as[kk * TILE + mm] = v;
                int nn, kb;
                if (bCs == 1) {
                    kb = e / TILE;
                    nn = e % TILE;
                } else {
                    nn = e / SLICE;
                    kb = e % SLICE;
                }
                int gn = nBase + nn, gkb = k0 + kb;
                float w = 0f;
                if (gn < N && gkb < K) w = load(m0, m1, m2, m3, m4, m5, m6, m7, bArena, bOff + gkb * bRs + gn * bCs);
                bs[kb * TILE + nn] = w;
            }
            ctx.localBarrier();
            for (int kk = 0; kk < SLICE; kk++) {
                float a0 = as[kk * TILE + ty + 0];
                float a1 = as[kk * TILE + ty + 16];
                float a2 = as[kk * TILE + ty + 32];
                float a3 = as[kk * TILE + ty + 48];
                float b0 = bs[kk * TILE + tx + 0];
                float b1 = bs[kk * TILE + tx + 16];
                float b2 = bs[kk * TILE + tx + 32];
                float b3 = bs[kk * TILE + tx + 48];
                c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
                c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
                c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
                c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
            }
            ctx.localBarrier();
        }
        store(m0, m1, m2, m3, m4, m5, m6, m7, cArena, cOff, ldc, row0 + 0, n0 + 0, M, N, acc, c00);
        store(m0, m1, m2, m3, m4, m5, m6, m7, cArena, cOff, ldc, row0 + 0, n0 + 16, M, N, acc, c01);
        store(m0, m1, m2, m3, m4, m5, m6, m7, cArena, cOff, ldc, row0 + 0, n0 + 32, M, N, acc, c02);
        store(m0, m1, m2, m3, m4, m5, m6, m7, cArena, cOff, ldc, row0 + 0, n0 + 48, M, N, acc, c03);
        store(m0, m1, m2, m3, m4, m5, m6, m7, cArena, cOff, ldc, row0 + 16, n0 + 0, M, N, acc, c10);
        store(m0, m1, m2, m3, m4, m5, m6, m7, cArena, cOff, ldc, row0 + 16, n0 + 16, M, N, acc, c11);
        store(m0, m1, m2, m3, m4, m5, m6, m7, cArena, cOff, ldc, row0 + 16, n0 + 32, M, N, acc, c12);
        store(m0, m1, m2, m3, m4, m5, m6, m7, cArena, cOff, ldc, row0 + 16, n0 + 48, M, N, acc, c13);
        store(m0, m1, m2, m3, m4, m5, m6, m7, cArena, cOff, ldc, row0 + 32, n0 + 0, M, N, acc, c20);
        store(m0, m1, m2, m3, m4, m5, m6, m7, cArena, cOff, ldc, row0 + 32, n0 + 16, M, N, acc, c21);
        store(m0, m1, m2, m3, m4, m5, m6, m7, cArena, cOff, ldc, row0 + 32, n0 + 32, M, N, acc, c22);
        store(m0, m1, m2, m3, m4, m5, m6, m7, cArena, cOff, ldc, row0 + 32, n0 + 48, M, N, acc, c23);
        store(m0, m1, m2, m3, m4, m5, m6, m7, cArena, cOff, ldc, row0 + 48, n0 + 0, M, N, acc, c30);
        store(m0, m1, m2, m3, m4, m5, m6, m7, cArena, cOff, ldc, row0 + 48, n0 + 16, M, N, acc, c31);
        store(m0, m1, m2, m3, m4, m5, m6, m7, cArena, cOff, ldc, row0 + 48, n0 + 32, M, N, acc, c32);
        store(m0, m1, m2, m3, m4, m5, m6, m7, cArena, cOff, ldc, row0 + 48, n0 + 48, M, N, acc, c33);
    }

    /** Writes (or adds, when {@code acc != 0}) one element of C if it lies inside M x N. */
    static void store(FloatArray m0, FloatArray m1, FloatArray m2, FloatArray m3, FloatArray m4, FloatArray m5,
                      FloatArray m6, FloatArray m7, int cArena, int cOff, int ldc, int m, int n, int M, int N, int acc,
                      float v) {
        if (m < M && n < N) {
            int at = cOff + m * ldc + n;
            if (acc != 0) v += load(m0, m1, m2, m3, m4, m5, m6, m7, cArena, at);
            ArenaMemory.store(m0, m1, m2, m3, m4, m5, m6, m7, cArena, at, v);
        }
    }
}
