package dev.jllama.model.backend.cpu;

import dev.jllama.model.backend.Precision;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * OpenBLAS on its own, for benchmarks: one {@code cblas_sgemm} per product over the whole matrix, threaded by
 * OpenBLAS itself, as numpy or any C program would call it. The backend's matmul is measured against this. In bf16 it
 * is one {@code cblas_sbgemm} per product on operands already in bf16 (each converted once, the first time it is
 * seen), as a program that keeps its tensors in bf16 would call it.
 */
public final class OpenBlasBaseline {
    private final OpenBlas blas;
    private final int threads;
    private final Precision precision;
    /** In bf16: each operand array's bf16 copy, made on first use (benchmark operands do not change). */
    private final Map<float[], short[]> inBf16 = new IdentityHashMap<>();

    private OpenBlasBaseline(OpenBlas blas, int threads, Precision precision) {
        this.blas = blas;
        this.threads = threads;
        this.precision = precision;
    }

    /** The fp32 baseline with OpenBLAS threaded {@code threads} ways, or null where the natives do not load. */
    public static OpenBlasBaseline create(int threads) {
        return create(threads, Precision.FP32);
    }

    /** The baseline in {@code precision}, or null where there is none ({@link #unavailableReason}). */
    public static OpenBlasBaseline create(int threads, Precision precision) {
        OpenBlas blas = OpenBlas.get();
        if (blas == null || (precision == Precision.BF16 && !blas.hasSbgemm())) return null;
        return new OpenBlasBaseline(blas, threads, precision);
    }

    /** Why {@link #create} returns null in {@code precision}, or null. */
    public static String unavailableReason(Precision precision) {
        if (OpenBlas.get() == null) return OpenBlas.failure();
        return precision == Precision.BF16 && !OpenBlas.get().hasSbgemm()
                ? OpenBlas.get().describe() + " has no cblas_sbgemm (built without BUILD_BFLOAT16)" : null;
    }

    /** E.g. "openblas 0.3.31 (Cooperlake), 2 threads", or "openblas 0.3.21 (COOPERLAKE) sbgemm, 2 threads". */
    public String describe() {
        return blas.describe() + (precision == Precision.BF16 ? " sbgemm" : "") + ", " + threads
                + (threads == 1 ? " thread" : " threads");
    }

    /**
     * Runs {@code body} with OpenBLAS threaded {@code threads} ways, then sets it back to the single thread the CPU
     * backend's tiles use.
     */
    public void withThreads(Runnable body) {
        blas.setThreads(threads);
        try {
            body.run();
        } finally {
            blas.setThreads(1);
        }
    }

    /** Row-major {@code C (+)= op(A) op(B)} in one call, with the same meaning as the backend's matmul kernels. */
    public void multiply(int m, int n, int k, float[] a, boolean transA, float[] b, boolean transB, float[] c,
                         boolean accumulate) {
        if (precision == Precision.BF16) {
            blas.sbgemm(transA, transB, m, n, k, bf16(a), 0, Math.max(1, transA ? m : k), bf16(b), 0,
                    Math.max(1, transB ? k : n), accumulate ? 1f : 0f, c, 0, n);
            return;
        }
        blas.sgemm(transA, transB, m, n, k, a, 0, Math.max(1, transA ? m : k), b, 0, Math.max(1, transB ? k : n),
                accumulate ? 1f : 0f, c, 0, n);
    }

    private short[] bf16(float[] x) {
        return inBf16.computeIfAbsent(x, array -> {
            short[] bits = new short[array.length];
            Bf16.toBits(array, 0, bits, 0, array.length);
            return bits;
        });
    }
}
