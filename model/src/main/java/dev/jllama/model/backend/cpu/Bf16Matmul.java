package dev.jllama.model.backend.cpu;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * The matmul of bf16 mixed precision: both operands rounded to bf16, products accumulated and written in fp32.
 * Where OpenBLAS has {@code cblas_sbgemm} and the CPU has bf16 instructions, the operands are converted to bf16 and
 * each tile is one {@code sbgemm} (the tiles of {@link OpenBlasGemm}, so results do not depend on the thread count).
 * Elsewhere the operands are rounded to bf16 values kept in fp32 arrays and the fp32 kernel multiplies them: the
 * same products (a product of two bf16 numbers is exact in fp32), at the fp32 rate plus the rounding.
 *
 * <p>Activations are converted on every call into buffers this kernel keeps. Weights (the B operand of
 * {@link #multiplyByWeight}) are converted once and kept until the backend reports the array written
 * ({@link #forget}): the LM head's weight is multiplied once per chunk of rows, forward and backward, and converting
 * its {@code vocab x dim} values each time would cost a pass over them per chunk. The master weights stay fp32.
 */
final class Bf16Matmul implements MatmulKernel {
    private final Parallel parallel;
    /** With sbgemm: the library; else null. */
    private final OpenBlas sbgemm;
    /** Without sbgemm: the fp32 kernel that multiplies the rounded operands; else null. */
    private final MatmulKernel fp32;
    private final String description;
    private float[] roundedA = new float[0], roundedB = new float[0];
    private short[] bitsA = new short[0], bitsB = new short[0];
    /** Each weight array's converted copy (bf16 bits with sbgemm, rounded floats without), until it is written. */
    private final Map<float[], Object> weights = new IdentityHashMap<>();

    private Bf16Matmul(Parallel parallel, OpenBlas sbgemm, MatmulKernel fp32, String description) {
        this.parallel = parallel;
        this.sbgemm = sbgemm;
        this.fp32 = fp32;
        this.description = description;
    }

    /** On sbgemm where the library has it and the CPU has bf16 instructions, else rounding in front of {@code fp32}. */
    static Bf16Matmul create(MatmulKernel fp32, Parallel parallel) {
        OpenBlas blas = fp32 instanceof OpenBlasGemm ? OpenBlas.get() : null;
        String instructions = cpuBf16Instructions();
        if (blas != null && blas.hasSbgemm() && instructions != null) {
            return onSbgemm(blas, parallel, instructions);
        }
        String why = blas == null ? "no native OpenBLAS"
                : !blas.hasSbgemm() ? "this OpenBLAS has no sbgemm" : "this CPU has no bf16 instructions";
        return rounding(fp32, parallel, why);
    }

    static Bf16Matmul onSbgemm(OpenBlas blas, Parallel parallel, String instructions) {
        return new Bf16Matmul(parallel, blas, null, "bf16 " + blas.describe() + " sbgemm, " + instructions);
    }

    static Bf16Matmul rounding(MatmulKernel fp32, Parallel parallel, String why) {
        return new Bf16Matmul(parallel, null, fp32,
                "bf16 operands rounded, fp32 " + fp32.describe() + " (" + why + ")");
    }

    /**
     * The CPU's bf16 dot-product instructions as /proc/cpuinfo names them ({@code avx512_bf16}, {@code amx_bf16}),
     * or null where it has none or the flags cannot be read (not Linux).
     */
    static String cpuBf16Instructions() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (!line.startsWith("flags")) continue;
                String flags = " " + line.substring(line.indexOf(':') + 1).trim() + " ";
                boolean avx512 = flags.contains(" avx512_bf16 "), amx = flags.contains(" amx_bf16 ");
                if (!avx512 && !amx) return null;
                return avx512 && amx ? "avx512_bf16 amx_bf16" : avx512 ? "avx512_bf16" : "amx_bf16";
            }
        } catch (IOException | RuntimeException e) {
            return null;
        }
        return null;
    }

    @Override
    public String describe() {
        return description;
    }

    @Override
    public void multiply(int m, int n, int k, float[] a, boolean transA, float[] b, boolean transB, float[] c,
                         boolean accumulate) {
        multiply(m, n, k, a, transA, b, transB, c, accumulate, false);
    }

    /**
     * {@link #multiply} whose B is a weight: its conversion is kept for the next products with it, until
     * {@link #forget} says the array changed.
     */
    void multiplyByWeight(int m, int n, int k, float[] a, boolean transA, float[] w, boolean transB, float[] c,
                          boolean accumulate) {
        multiply(m, n, k, a, transA, w, transB, c, accumulate, true);
    }

    /** The backend wrote {@code array}: a kept conversion of it is stale. */
    void forget(float[] array) {
        weights.remove(array);
    }

    private void multiply(int m, int n, int k, float[] a, boolean transA, float[] b, boolean transB, float[] c,
                          boolean accumulate, boolean bIsWeight) {
        int sizeA = m * k, sizeB = k * n;
        if (sbgemm == null) {
            if (roundedA.length < sizeA) roundedA = new float[sizeA];
            round(a, roundedA, sizeA);
            float[] rb;
            if (bIsWeight) {
                rb = (float[]) weights.get(b);
                if (rb == null || rb.length != sizeB) {
                    rb = new float[sizeB];
                    round(b, rb, sizeB);
                    weights.put(b, rb);
                }
            } else {
                if (roundedB.length < sizeB) roundedB = new float[sizeB];
                round(b, roundedB, sizeB);
                rb = roundedB;
            }
            fp32.multiply(m, n, k, roundedA, transA, rb, transB, c, accumulate);
            return;
        }
        if (bitsA.length < sizeA) bitsA = new short[sizeA];
        short[] ba = bitsA, bb;
        convert(a, ba, sizeA);
        if (bIsWeight) {
            bb = (short[]) weights.get(b);
            if (bb == null || bb.length != sizeB) {
                bb = new short[sizeB];
                convert(b, bb, sizeB);
                weights.put(b, bb);
            }
        } else {
            if (bitsB.length < sizeB) bitsB = new short[sizeB];
            bb = bitsB;
            convert(b, bb, sizeB);
        }
        int lda = Math.max(1, transA ? m : k), ldb = Math.max(1, transB ? k : n);
        float beta = accumulate ? 1f : 0f;
        short[] bits = bb;
        OpenBlasGemm.forEachTile(parallel, m, n, (m0, rows, n0, cols) -> sbgemm.sbgemm(transA, transB, rows, cols, k,
                ba, transA ? m0 : m0 * lda, lda, bits, transB ? n0 * ldb : n0, ldb, beta, c, m0 * n + n0, n));
    }

    /** Rounds {@code n} elements of {@code src} into {@code dst}, in fixed chunks on the pool. */
    private void round(float[] src, float[] dst, int n) {
        parallel.forEach(chunks(n), chunk -> Bf16.round(src, chunk * CHUNK, dst, chunk * CHUNK, chunkLength(chunk, n)));
    }

    private void convert(float[] src, short[] dst, int n) {
        parallel.forEach(chunks(n),
                chunk -> Bf16.toBits(src, chunk * CHUNK, dst, chunk * CHUNK, chunkLength(chunk, n)));
    }

    private static final int CHUNK = 1 << 15;

    private static int chunks(int n) {
        return (n + CHUNK - 1) / CHUNK;
    }

    private static int chunkLength(int chunk, int n) {
        return Math.min(CHUNK, n - chunk * CHUNK);
    }
}
