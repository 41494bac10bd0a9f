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
 * <p>Each operand is converted once and kept until the backend reports its array written ({@link #forget}; the
 * buffer stays for the next conversion, so a training step allocates nothing after the first): a
 * conversion is a memory-bound pass that costs, per element of an operand, a large fraction of the product's
 * {@code 2 x n} multiply-adds on it when n is a few hundred, and the same arrays come back (a weight forward and
 * backward and in every chunk of the LM head's rows, an activation in its forward product and in its weight gradient,
 * an output gradient in both of its backward products). The master weights stay fp32. A saved activation the backend
 * keeps in bf16 is an operand as it is on sbgemm ({@link #multiplyStored}), and a product into one is rounded tile by
 * tile ({@link #multiplyIntoBits}).
 */
final class Bf16Matmul implements MatmulKernel {
    private final Parallel parallel;
    /** With sbgemm: the library; else null. */
    private final OpenBlas sbgemm;
    /** Without sbgemm: the fp32 kernel that multiplies the rounded operands; else null. */
    private final MatmulKernel fp32;
    private final String description;
    /** Each operand array's conversion, current until the array is written, its buffer kept until it is freed. */
    private final Map<Object, Conversion> converted = new IdentityHashMap<>();
    /** Per chunk of a long inner dimension, its product into C's shape ({@link #multiplyInInnerChunks}). */
    private float[][] partials = new float[0][];

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

    /** Whether the products run on {@code sbgemm} (else on the fp32 kernel with rounded operands). */
    boolean onSbgemm() {
        return sbgemm != null;
    }

    @Override
    public String describe() {
        return description;
    }

    @Override
    public void multiply(int m, int n, int k, float[] a, boolean transA, float[] b, boolean transB, float[] c,
                         boolean accumulate) {
        multiplyStored(m, n, k, a, transA, b, transB, c, accumulate);
    }

    /**
     * {@link #multiply} on operands as the backend stores them: each an fp32 array ({@code float[]}) or bf16 bits
     * ({@code short[]}, a saved activation kept in bf16, which needs no conversion on sbgemm).
     */
    void multiplyStored(int m, int n, int k, Object a, boolean transA, Object b, boolean transB, float[] c,
                        boolean accumulate) {
        if (sbgemm == null) {
            fp32.multiply(m, n, k, rounded(a, m * k), transA, rounded(b, k * n), transB, c, accumulate);
            return;
        }
        short[] ba = bits(a, m * k), bb = bits(b, k * n);
        int lda = Math.max(1, transA ? m : k), ldb = Math.max(1, transB ? k : n);
        if (OpenBlasGemm.innerChunks(m, n, k) > 0) {
            multiplyInInnerChunks(m, n, k, ba, transA, lda, bb, transB, ldb, c, accumulate);
            return;
        }
        float beta = accumulate ? 1f : 0f;
        OpenBlasGemm.forEachTile(parallel, m, n, (m0, rows, n0, cols) -> sbgemm.sbgemm(transA, transB, rows, cols, k,
                ba, transA ? m0 : m0 * lda, lda, bb, transB ? n0 * ldb : n0, ldb, beta, c, m0 * n + n0, n));
    }

    /**
     * A product whose inner dimension dwarfs C: one sbgemm per chunk of {@code k} into its own partial C, so that
     * each operand is packed once, then C = (C or 0) + the partials in chunk order (the same bits for any thread
     * count).
     */
    private void multiplyInInnerChunks(int m, int n, int k, short[] a, boolean transA, int lda, short[] b,
                                       boolean transB, int ldb, float[] c, boolean accumulate) {
        int chunks = OpenBlasGemm.innerChunks(m, n, k), width = OpenBlasGemm.innerChunkWidth(k, chunks);
        int used = (k + width - 1) / width, size = m * n;
        if (partials.length < used || partials[0].length < size) partials = new float[used][size];
        float[][] p = partials;
        parallel.forEach(used, t -> {
            int k0 = t * width, kc = Math.min(width, k - k0);
            sbgemm.sbgemm(transA, transB, m, n, kc, a, transA ? k0 * lda : k0, lda, b, transB ? k0 : k0 * ldb, ldb,
                    0f, p[t], 0, n);
        });
        parallel.forEach(chunks(size), chunk -> {
            for (int i = chunk * CHUNK, end = i + chunkLength(chunk, size); i < end; i++) {
                float sum = accumulate ? c[i] : 0f;
                for (int t = 0; t < used; t++) sum += p[t][i];
                c[i] = sum;
            }
        });
    }

    /**
     * {@code C = A B} into a tensor kept in bf16: the fp32 product goes through {@code staging} ({@code m x n}) and is
     * rounded into {@code cBits}, on sbgemm tile by tile right after each tile's product, while it is in cache.
     */
    void multiplyIntoBits(int m, int n, int k, Object a, boolean transA, Object b, boolean transB, float[] staging,
                          short[] cBits) {
        if (sbgemm == null) {
            multiplyStored(m, n, k, a, transA, b, transB, staging, false);
            parallel.forEach(chunks(m * n), chunk -> Bf16.toBits(staging, chunk * CHUNK, cBits, chunk * CHUNK,
                    chunkLength(chunk, m * n)));
            return;
        }
        short[] ba = bits(a, m * k), bb = bits(b, k * n);
        int lda = Math.max(1, transA ? m : k), ldb = Math.max(1, transB ? k : n);
        OpenBlasGemm.forEachTile(parallel, m, n, (m0, rows, n0, cols) -> {
            sbgemm.sbgemm(transA, transB, rows, cols, k, ba, transA ? m0 : m0 * lda, lda, bb,
                    transB ? n0 * ldb : n0, ldb, 0f, staging, m0 * n + n0, n);
            for (int r = m0; r < m0 + rows; r++) Bf16.toBits(staging, r * n + n0, cBits, r * n + n0, cols);
        });
    }

    /** The backend wrote {@code array}: its kept conversion is stale (its buffer is kept for the next one). */
    void forget(Object array) {
        Conversion kept = converted.get(array);
        if (kept != null) kept.current = false;
    }

    /** The backend freed {@code array}: its conversion and buffer go too. */
    void release(Object array) {
        converted.remove(array);
    }

    /** An operand's converted copy: bf16 bits (short[]) with sbgemm, rounded fp32 values (float[]) without. */
    private static final class Conversion {
        Object buffer;
        int length;
        boolean current;
    }

    /** Converts {@code n} elements of {@code src} from {@code srcAt} into {@code dst} from {@code dstAt}. */
    private interface Converter<S, T> {
        void convert(S src, int srcAt, T dst, int dstAt, int n);
    }

    /** The first {@code n} elements of operand {@code x} as bf16 bits: bits as stored, else converted and kept. */
    private short[] bits(Object x, int n) {
        if (x instanceof short[] stored) return stored;
        return converted((float[]) x, n, short[]::new, Bf16::toBits);
    }

    /**
     * The first {@code n} elements of operand {@code x} rounded to bf16, in fp32: kept, or rounded (bits stored in
     * bf16: expanded, exactly) now and kept.
     */
    private float[] rounded(Object x, int n) {
        if (x instanceof short[] stored) return converted(stored, n, float[]::new, Bf16::toFloats);
        return converted((float[]) x, n, float[]::new, Bf16::round);
    }

    /**
     * {@code x}'s kept conversion when it is current and covers {@code n} elements; else converted now into its
     * buffer (reused when long enough), marked current and kept.
     */
    @SuppressWarnings("unchecked")
    private <S, T> T converted(S x, int n, java.util.function.IntFunction<T> allocate, Converter<S, T> converter) {
        Conversion entry = converted.computeIfAbsent(x, array -> new Conversion());
        if (entry.current && entry.length >= n) return (T) entry.buffer;
        if (entry.buffer == null || java.lang.reflect.Array.getLength(entry.buffer) < n) entry.buffer = allocate.apply(n);
        entry.length = n;
        entry.current = true;
        T buffer = (T) entry.buffer;
        parallel.forEach(chunks(n), chunk -> converter.convert(x, chunk * CHUNK, buffer, chunk * CHUNK,
                chunkLength(chunk, n)));
        return buffer;
    }

    private static final int CHUNK = 1 << 15;

    private static int chunks(int n) {
        return (n + CHUNK - 1) / CHUNK;
    }

    private static int chunkLength(int chunk, int n) {
        return Math.min(CHUNK, n - chunk * CHUNK);
    }
}
