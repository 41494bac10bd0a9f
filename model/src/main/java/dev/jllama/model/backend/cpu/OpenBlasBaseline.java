package dev.jllama.model.backend.cpu;

/**
 * OpenBLAS on its own, for benchmarks: one {@code cblas_sgemm} per product over the whole matrix, threaded by
 * OpenBLAS itself, as numpy or any C program would call it. The backend's matmul is measured against this.
 */
public final class OpenBlasBaseline {
    private final OpenBlas blas;
    private final int threads;

    private OpenBlasBaseline(OpenBlas blas, int threads) {
        this.blas = blas;
        this.threads = threads;
    }

    /** The baseline with OpenBLAS threaded {@code threads} ways, or null where the natives do not load. */
    public static OpenBlasBaseline create(int threads) {
        OpenBlas blas = OpenBlas.get();
        return blas == null ? null : new OpenBlasBaseline(blas, threads);
    }

    /** Why {@link #create} returns null, or null. */
    public static String unavailableReason() {
        return OpenBlas.failure();
    }

    /** E.g. "openblas 0.3.31 (Cooperlake), 2 threads". */
    public String describe() {
        return blas.describe() + ", " + threads + (threads == 1 ? " thread" : " threads");
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
        blas.sgemm(transA, transB, m, n, k, a, 0, Math.max(1, transA ? m : k), b, 0, Math.max(1, transB ? k : n),
                accumulate ? 1f : 0f, c, 0, n);
    }
}
