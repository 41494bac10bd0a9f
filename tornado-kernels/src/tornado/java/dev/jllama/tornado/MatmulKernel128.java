package dev.jllama.tornado;

import static dev.jllama.tornado.ArenaMemory.ARENA;
import static dev.jllama.tornado.ArenaMemory.load;
import static dev.jllama.tornado.ArenaMemory.store;

import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * The same strided GEMM as {@link MatmulKernel} ({@code C[m,n] (+)= sum_k A(m,k) B(k,n)}, all three matmul forms
 * through strides) with four times the work per thread: a 16x16 work-group computes a 128x128 tile of C, each
 * thread an 8x8 register block (rows {@code ty + 16i}, columns {@code tx + 16j}), walking K in slices of 16.
 * Per slice a thread reads 16 local values for 64 multiply-adds (the 64 kernel: 8 for 16), and each tile element
 * fetched from global memory is used 128 times instead of 64.
 *
 * <p>The inner loop carries no form or bounds logic: which operand axis is contiguous (and so how threads map
 * onto a slice for coalesced reads) is decided once, as a per-thread start, a per-load step and a per-slice step.
 * Only slices that cross M, N or K take the checked loads. The next slice's global loads are issued before the
 * current slice's multiply-adds (software pipelining through registers), so their latency hides behind compute.
 * Local rows are padded by 2 floats so the transposing stores of the k-contiguous layouts are conflict-free.
 */
final class MatmulKernel128 {
    static final int TILE = 128;
    static final int SLICE = 16;
    static final int THREADS = 16;
    /** Row pitch in local memory: 2 floats of padding spread a slice's 16 k-rows over all 32 banks. */
    private static final int LDS = TILE + 2;

    private MatmulKernel128() {}

    /**
     * {@code a}: c, a, b, M, N, K, aRs, aCs, bRs, bCs, ldc, accumulate, kSlice, cSlice. Grid: (ceil(N/128)*16,
     * ceil(M/128)*16, S), local 16x16x1. Work-group z multiplies k in [z*kSlice, min(K, (z+1)*kSlice)) into C at
     * {@code c + z*cSlice} (split-K, see {@link SplitK}); unsplit: S = 1, kSlice = K.
     */
    static void gemm(KernelContext ctx, FloatArray m0, FloatArray m1, FloatArray m2, FloatArray m3, FloatArray m4,
                     FloatArray m5, FloatArray m6, FloatArray m7, IntArray imem, IntArray a, FloatArray f) {
        float[] as = ctx.allocateFloatLocalArray(SLICE * LDS);
        float[] bs = ctx.allocateFloatLocalArray(SLICE * LDS);
        int tx = ctx.localIdx, ty = ctx.localIdy;
        int lid = ty * THREADS + tx;
        int mBase = ctx.groupIdy * TILE, nBase = ctx.groupIdx * TILE;
        int M = a.get(3), N = a.get(4);
        int aRs = a.get(6), aCs = a.get(7), bRs = a.get(8), bCs = a.get(9), ldc = a.get(10);
        int acc = a.get(11);
        int kSlice = a.get(12), z = ctx.groupIdz;
        int kBegin = z * kSlice, kRest = a.get(5) - kBegin;
        int K = kRest < kSlice ? kRest : kSlice;
        int cOff = a.get(0) + z * a.get(13), aOff = a.get(1) + kBegin * aCs, bOff = a.get(2) + kBegin * bRs;
        int cArena = a.get(ARENA), aArena = a.get(ARENA + 1), bArena = a.get(ARENA + 2);
        int rowsA = M - mBase, colsB = N - nBase;
        boolean fullTile = rowsA >= TILE && colsB >= TILE;

        // Each thread stages 8 elements of A's 128x16 slice and 8 of B's 16x128 slice. Along a contiguous k
        // axis 16 threads read one row's 16 values; along a contiguous m (n) axis 128 threads read one k-row.
        int mA, kA, dmA, dkA;
        if (aCs == 1) {
            mA = lid / SLICE; kA = lid % SLICE; dmA = 256 / SLICE; dkA = 0;
        } else {
            mA = lid % TILE; kA = lid / TILE; dmA = 0; dkA = 256 / TILE;
        }
        int nB, kB, dnB, dkB;
        if (bCs == 1) {
            nB = lid % TILE; kB = lid / TILE; dnB = 0; dkB = 256 / TILE;
        } else {
            nB = lid / SLICE; kB = lid % SLICE; dnB = 256 / SLICE; dkB = 0;
        }
        int aG = aOff + (mBase + mA) * aRs + kA * aCs, aStepP = dmA * aRs + dkA * aCs, aStepK = SLICE * aCs;
        int bG = bOff + kB * bRs + (nBase + nB) * bCs, bStepP = dkB * bRs + dnB * bCs, bStepK = SLICE * bRs;
        int aL = kA * LDS + mA, aLStep = dkA * LDS + dmA;
        int bL = kB * LDS + nB, bLStep = dkB * LDS + dnB;

        float c00 = 0f, c01 = 0f, c02 = 0f, c03 = 0f, c04 = 0f, c05 = 0f, c06 = 0f, c07 = 0f;
        float c10 = 0f, c11 = 0f, c12 = 0f, c13 = 0f, c14 = 0f, c15 = 0f, c16 = 0f, c17 = 0f;
        float c20 = 0f, c21 = 0f, c22 = 0f, c23 = 0f, c24 = 0f, c25 = 0f, c26 = 0f, c27 = 0f;
        float c30 = 0f, c31 = 0f, c32 = 0f, c33 = 0f, c34 = 0f, c35 = 0f, c36 = 0f, c37 = 0f;
        float c40 = 0f, c41 = 0f, c42 = 0f, c43 = 0f, c44 = 0f, c45 = 0f, c46 = 0f, c47 = 0f;
        float c50 = 0f, c51 = 0f, c52 = 0f, c53 = 0f, c54 = 0f, c55 = 0f, c56 = 0f, c57 = 0f;
        float c60 = 0f, c61 = 0f, c62 = 0f, c63 = 0f, c64 = 0f, c65 = 0f, c66 = 0f, c67 = 0f;
        float c70 = 0f, c71 = 0f, c72 = 0f, c73 = 0f, c74 = 0f, c75 = 0f, c76 = 0f, c77 = 0f;
        float pa0 = 0f, pa1 = 0f, pa2 = 0f, pa3 = 0f, pa4 = 0f, pa5 = 0f, pa6 = 0f, pa7 = 0f;
        float pb0 = 0f, pb1 = 0f, pb2 = 0f, pb3 = 0f, pb4 = 0f, pb5 = 0f, pb6 = 0f, pb7 = 0f;
        // Iteration k0 loads slice k0+16 into registers, multiplies slice k0 out of local memory, then stages the
        // loaded slice; the first iteration (k0 = -16) only loads, the last only multiplies.
        for (int k0 = -SLICE; k0 < K; k0 += SLICE) {
            int kLeft = K - (k0 + SLICE);
            if (fullTile && kLeft >= SLICE) {
                pa0 = load(m0, m1, m2, m3, m4, m5, m6, m7, aArena, aG);
                pa1 = load(m0, m1, m2, m3, m4, m5, m6, m7, aArena, aG + aStepP);
                pa2 = load(m0, m1, m2, m3, m4, m5, m6, m7, aArena, aG + 2 * aStepP);
                pa3 = load(m0, m1, m2, m3, m4, m5, m6, m7, aArena, aG + 3 * aStepP);
                pa4 = load(m0, m1, m2, m3, m4, m5, m6, m7, aArena, aG + 4 * aStepP);
                pa5 = load(m0, m1, m2, m3, m4, m5, m6, m7, aArena, aG + 5 * aStepP);
                pa6 = load(m0, m1, m2, m3, m4, m5, m6, m7, aArena, aG + 6 * aStepP);
                pa7 = load(m0, m1, m2, m3, m4, m5, m6, m7, aArena, aG + 7 * aStepP);
                pb0 = load(m0, m1, m2, m3, m4, m5, m6, m7, bArena, bG);
                pb1 = load(m0, m1, m2, m3, m4, m5, m6, m7, bArena, bG + bStepP);
                pb2 = load(m0, m1, m2, m3, m4, m5, m6, m7, bArena, bG + 2 * bStepP);
                pb3 = load(m0, m1, m2, m3, m4, m5, m6, m7, bArena, bG + 3 * bStepP);
                pb4 = load(m0, m1, m2, m3, m4, m5, m6, m7, bArena, bG + 4 * bStepP);
                pb5 = load(m0, m1, m2, m3, m4, m5, m6, m7, bArena, bG + 5 * bStepP);
                pb6 = load(m0, m1, m2, m3, m4, m5, m6, m7, bArena, bG + 6 * bStepP);
                pb7 = load(m0, m1, m2, m3, m4, m5, m6, m7, bArena, bG + 7 * bStepP);
            } else if (kLeft > 0) {
                pa0 = mA < rowsA && kA < kLeft ? load(m0, m1, m2, m3, m4, m5, m6, m7, aArena, aG) : 0f;
                pa1 = mA + dmA < rowsA && kA + dkA < kLeft ? load(m0, m1, m2, m3, m4, m5, m6, m7, aArena, aG + aStepP) : 0f;
                pa2 = mA + 2 * dmA < rowsA && kA + 2 * dkA < kLeft ? load(m0, m1, m2, m3, m4, m5, m6, m7, aArena, aG + 2 * aStepP) : 0f;
                pa3 = mA + 3 * dmA < rowsA && kA + 3 * dkA < kLeft ? load(m0, m1, m2, m3, m4, m5, m6, m7, aArena, aG + 3 * aStepP) : 0f;
                pa4 = mA + 4 * dmA < rowsA && kA + 4 * dkA < kLeft ? load(m0, m1, m2, m3, m4, m5, m6, m7, aArena, aG + 4 * aStepP) : 0f;
                pa5 = mA + 5 * dmA < rowsA && kA + 5 * dkA < kLeft ? load(m0, m1, m2, m3, m4, m5, m6, m7, aArena, aG + 5 * aStepP) : 0f;
                pa6 = mA + 6 * dmA < rowsA && kA + 6 * dkA < kLeft ? load(m0, m1, m2, m3, m4, m5, m6, m7, aArena, aG + 6 * aStepP) : 0f;
                pa7 = mA + 7 * dmA < rowsA && kA + 7 * dkA < kLeft ? load(m0, m1, m2, m3, m4, m5, m6, m7, aArena, aG + 7 * aStepP) : 0f;
                pb0 = nB < colsB && kB < kLeft ? load(m0, m1, m2, m3, m4, m5, m6, m7, bArena, bG) : 0f;
                pb1 = nB + dnB < colsB && kB + dkB < kLeft ? load(m0, m1, m2, m3, m4, m5, m6, m7, bArena, bG + bStepP) : 0f;
                pb2 = nB + 2 * dnB < colsB && kB + 2 * dkB < kLeft ? load(m0, m1, m2, m3, m4, m5, m6, m7, bArena, bG + 2 * bStepP) : 0f;
                pb3 = nB + 3 * dnB < colsB && kB + 3 * dkB < kLeft ? load(m0, m1, m2, m3, m4, m5, m6, m7, bArena, bG + 3 * bStepP) : 0f;
                pb4 = nB + 4 * dnB < colsB && kB + 4 * dkB < kLeft ? load(m0, m1, m2, m3, m4, m5, m6, m7, bArena, bG + 4 * bStepP) : 0f;
                pb5 = nB + 5 * dnB < colsB && kB + 5 * dkB < kLeft ? load(m0, m1, m2, m3, m4, m5, m6, m7, bArena, bG + 5 * bStepP) : 0f;
                pb6 = nB + 6 * dnB < colsB && kB + 6 * dkB < kLeft ? load(m0, m1, m2, m3, m4, m5, m6, m7, bArena, bG + 6 * bStepP) : 0f;
                pb7 = nB + 7 * dnB < colsB && kB + 7 * dkB < kLeft ? load(m0, m1, m2, m3, m4, m5, m6, m7, bArena, bG + 7 * bStepP) : 0f;
            }
            aG += aStepK;
            bG += bStepK;
            if (k0 >= 0) {
                for (int kk = 0; kk < SLICE; kk++) {
                    int ka = kk * LDS + ty, kb = kk * LDS + tx;
                    float a0 = as[ka];
                    float a1 = as[ka + 16];
                    float a2 = as[ka + 32];
                    float a3 = as[ka + 48];
                    float a4 = as[ka + 64];
                    float a5 = as[ka + 80];
                    float a6 = as[ka + 96];
                    float a7 = as[ka + 112];
                    float b0 = bs[kb];
                    float b1 = bs[kb + 16];
                    float b2 = bs[kb + 32];
                    float b3 = bs[kb + 48];
                    float b4 = bs[kb + 64];
                    float b5 = bs[kb + 80];
                    float b6 = bs[kb + 96];
                    float b7 = bs[kb + 112];
                    c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3; c04 += a0 * b4; c05 += a0 * b5; c06 += a0 * b6; c07 += a0 * b7;
                    c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3; c14 += a1 * b4; c15 += a1 * b5; c16 += a1 * b6; c17 += a1 * b7;
                    c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3; c24 += a2 * b4; c25 += a2 * b5; c26 += a2 * b6; c27 += a2 * b7;
                    c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3; c34 += a3 * b4; c35 += a3 * b5; c36 += a3 * b6; c37 += a3 * b7;
                    c40 += a4 * b0; c41 += a4 * b1; c42 += a4 * b2; c43 += a4 * b3; c44 += a4 * b4; c45 += a4 * b5; c46 += a4 * b6; c47 += a4 * b7;
                    c50 += a5 * b0; c51 += a5 * b1; c52 += a5 * b2; c53 += a5 * b3; c54 += a5 * b4; c55 += a5 * b5; c56 += a5 * b6; c57 += a5 * b7;
                    c60 += a6 * b0; c61 += a6 * b1; c62 += a6 * b2; c63 += a6 * b3; c64 += a6 * b4; c65 += a6 * b5; c66 += a6 * b6; c67 += a6 * b7;
                    c70 += a7 * b0; c71 += a7 * b1; c72 += a7 * b2; c73 += a7 * b3; c74 += a7 * b4; c75 += a7 * b5; c76 += a7 * b6; c77 += a7 * b7;
                }
            }
            ctx.localBarrier();
            if (kLeft > 0) {
                as[aL] = pa0;
                as[aL + aLStep] = pa1;
                as[aL + 2 * aLStep] = pa2;
                as[aL + 3 * aLStep] = pa3;
                as[aL + 4 * aLStep] = pa4;
                as[aL + 5 * aLStep] = pa5;
                as[aL + 6 * aLStep] = pa6;
                as[aL + 7 * aLStep] = pa7;
                bs[bL] = pb0;
                bs[bL + bLStep] = pb1;
                bs[bL + 2 * bLStep] = pb2;
                bs[bL + 3 * bLStep] = pb3;
                bs[bL + 4 * bLStep] = pb4;
                bs[bL + 5 * bLStep] = pb5;
                bs[bL + 6 * bLStep] = pb6;
                bs[bL + 7 * bLStep] = pb7;
            }
            ctx.localBarrier();
        }
        // C leaves through local memory, 16 rows at a time: the thread's register row i for pass i, then 8
        // coalesced stores per thread. One store site instead of 64 keeps the kernel, whose every access branches
        // on the arena (ArenaMemory), within the compiler's inlining budget.
        for (int i = 0; i < 8; i++) {
            if (i == 0) {
                as[ty * LDS + tx + 0] = c00; as[ty * LDS + tx + 16] = c01; as[ty * LDS + tx + 32] = c02; as[ty * LDS + tx + 48] = c03;
                as[ty * LDS + tx + 64] = c04; as[ty * LDS + tx + 80] = c05; as[ty * LDS + tx + 96] = c06; as[ty * LDS + tx + 112] = c07;
            } else if (i == 1) {
                as[ty * LDS + tx + 0] = c10; as[ty * LDS + tx + 16] = c11; as[ty * LDS + tx + 32] = c12; as[ty * LDS + tx + 48] = c13;
                as[ty * LDS + tx + 64] = c14; as[ty * LDS + tx + 80] = c15; as[ty * LDS + tx + 96] = c16; as[ty * LDS + tx + 112] = c17;
            } else if (i == 2) {
                as[ty * LDS + tx + 0] = c20; as[ty * LDS + tx + 16] = c21; as[ty * LDS + tx + 32] = c22; as[ty * LDS + tx + 48] = c23;
                as[ty * LDS + tx + 64] = c24; as[ty * LDS + tx + 80] = c25; as[ty * LDS + tx + 96] = c26; as[ty * LDS + tx + 112] = c27;
            } else if (i == 3) {
                as[ty * LDS + tx + 0] = c30; as[ty * LDS + tx + 16] = c31; as[ty * LDS + tx + 32] = c32; as[ty * LDS + tx + 48] = c33;
                as[ty * LDS + tx + 64] = c34; as[ty * LDS + tx + 80] = c35; as[ty * LDS + tx + 96] = c36; as[ty * LDS + tx + 112] = c37;
            } else if (i == 4) {
                as[ty * LDS + tx + 0] = c40; as[ty * LDS + tx + 16] = c41; as[ty * LDS + tx + 32] = c42; as[ty * LDS + tx + 48] = c43;
                as[ty * LDS + tx + 64] = c44; as[ty * LDS + tx + 80] = c45; as[ty * LDS + tx + 96] = c46; as[ty * LDS + tx + 112] = c47;
            } else if (i == 5) {
                as[ty * LDS + tx + 0] = c50; as[ty * LDS + tx + 16] = c51; as[ty * LDS + tx + 32] = c52; as[ty * LDS + tx + 48] = c53;
                as[ty * LDS + tx + 64] = c54; as[ty * LDS + tx + 80] = c55; as[ty * LDS + tx + 96] = c56; as[ty * LDS + tx + 112] = c57;
            } else if (i == 6) {
                as[ty * LDS + tx + 0] = c60; as[ty * LDS + tx + 16] = c61; as[ty * LDS + tx + 32] = c62; as[ty * LDS + tx + 48] = c63;
                as[ty * LDS + tx + 64] = c64; as[ty * LDS + tx + 80] = c65; as[ty * LDS + tx + 96] = c66; as[ty * LDS + tx + 112] = c67;
            } else if (i == 7) {
                as[ty * LDS + tx + 0] = c70; as[ty * LDS + tx + 16] = c71; as[ty * LDS + tx + 32] = c72; as[ty * LDS + tx + 48] = c73;
                as[ty * LDS + tx + 64] = c74; as[ty * LDS + tx + 80] = c75; as[ty * LDS + tx + 96] = c76; as[ty * LDS + tx + 112] = c77;
            }
            ctx.localBarrier();
            int rowsLeft = rowsA - 16 * i;
            for (int e = lid; e < 16 * TILE; e += 256) {
                int r = e / TILE, col = e % TILE;
                if (r < rowsLeft && col < colsB) {
                    int at = cOff + (mBase + 16 * i + r) * ldc + nBase + col;
                    float v = as[r * LDS + col];
                    if (acc != 0) v += load(m0, m1, m2, m3, m4, m5, m6, m7, cArena, at);
                    store(m0, m1, m2, m3, m4, m5, m6, m7, cArena, at, v);
                }
            }
            ctx.localBarrier();
        }
    }
}
