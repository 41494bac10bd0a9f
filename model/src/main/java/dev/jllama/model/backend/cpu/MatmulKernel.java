package dev.jllama.model.backend.cpu;

/**
 * The CPU backend's single-precision matrix product, row-major with no copies: {@code C[m,n] (+)= op(A) op(B)},
 * where {@code op(A)} is {@code m x k} (stored {@code k x m} when {@code transA}) and {@code op(B)} is {@code k x n}
 * (stored {@code n x k} when {@code transB}). The three forms of a linear layer are the transposes
 * ({@code x·Wᵀ}: B transposed; {@code dY·W}: none; {@code dYᵀ·X}: A transposed).
 *
 * <p>Every implementation gives bit-identical results for any thread count, cold or warm: each element of C is
 * computed by one task whose work does not depend on how many threads there are.
 */
interface MatmulKernel {
    /** Which kernel runs, e.g. "openblas 0.3.31 (SkylakeX)" or "java-vector (512-bit)". */
    String describe();

    void multiply(int m, int n, int k, float[] a, boolean transA, float[] b, boolean transB, float[] c,
                  boolean accumulate);

    /** {@code auto} (OpenBLAS where its natives load, else Java), {@code openblas} or {@code java}. */
    static MatmulKernel create(String name, Parallel parallel) {
        return switch (name) {
            case "auto" -> OpenBlas.get() != null ? new OpenBlasGemm(OpenBlas.get(), parallel) : new Gemm(parallel);
            case "openblas" -> {
                if (OpenBlas.get() == null) {
                    throw new IllegalStateException("matmul kernel 'openblas' requested but its natives did not load: "
                            + OpenBlas.failure());
                }
                yield new OpenBlasGemm(OpenBlas.get(), parallel);
            }
            case "java" -> new Gemm(parallel);
            default -> throw new IllegalArgumentException("matmul kernel must be auto, openblas or java, got '" + name
                    + "'");
        };
    }
}
