package dev.jllama.model.backend.cpu;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The matmul of bf16 mixed precision: both operands rounded to bf16, products accumulated and written in fp32.
 * Where OpenBLAS has {@code cblas_sbgemm} and the CPU has bf16 instructions, the operands are converted to bf16 and
 * each tile is one {@code sbgemm} (the tiles of {@link OpenBlasGemm}, so results do not depend on the thread count).
 * Elsewhere the operands are rounded to bf16 values kept in fp32 arrays and the fp32 kernel multiplies them: the
 * same products (a product of two bf16 numbers is exact in fp32), at the fp32 rate plus the rounding.
 *
 * <p>Operands are converted on every call into buffers this kernel keeps: a weight's conversion costs one pass over
 * it against {@code rows} multiply-adds per element in the product, and the master weights stay fp32.
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
        int sizeA = m * k, sizeB = k * n;
        if (sbgemm == null) {
            if (roundedA.length < sizeA) roundedA = new float[sizeA];
            if (roundedB.length < sizeB) roundedB = new float[sizeB];
            round(a, roundedA, sizeA);
            round(b, roundedB, sizeB);
            fp32.multiply(m, n, k, roundedA, transA, roundedB, transB, c, accumulate);
            return;
        }
        if (bitsA.length < sizeA) bitsA = new short[sizeA];
        if (bitsB.length < sizeB) bitsB = new short[sizeB];
        short[] ba = bitsA, bb = bitsB;
        convert(a, ba, sizeA);
        convert(b, bb, sizeB);
        int lda = Math.max(1, transA ? m : k), ldb = Math.max(1, transB ? k : n);
        float beta = accumulate ? 1f : 0f;
        OpenBlasGemm.forEachTile(parallel, m, n, (m0, rows, n0, cols) -> sbgemm.sbgemm(transA, transB, rows, cols, k,
                ba, transA ? m0 : m0 * lda, lda, bb, transB ? n0 * ldb : n0, ldb, beta, c, m0 * n + n0, n));
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
