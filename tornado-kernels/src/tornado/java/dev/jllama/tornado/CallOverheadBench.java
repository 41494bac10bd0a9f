package dev.jllama.tornado;

import dev.jllama.model.backend.Backend;
import dev.jllama.model.backend.Tensor;

/**
 * The fixed cost of one backend call, which dominates small models on a GPU: {@code CallOverheadBench [calls]
 * [size]} runs {@code calls} element-wise adds of {@code size} floats (default 2000 of 256) plus a few
 * matmuls, and prints the microseconds per call, prefixed {@code RESULT}.
 */
public final class CallOverheadBench {
    private CallOverheadBench() {}

    public static void main(String[] argv) {
        int calls = argv.length > 0 ? Integer.parseInt(argv[0]) : 2000;
        int size = argv.length > 1 ? Integer.parseInt(argv[1]) : 256;
        try (TornadoBackend backend = new TornadoBackend(-1, TornadoBackend.configuredMemoryBytes())) {
            System.out.println("backend " + backend.name() + ": " + backend.device());
            Tensor a = backend.allocate("a", size), b = backend.allocate("b", size);
            Tensor x = backend.allocate("x", 64 * 64), w = backend.allocate("w", 64 * 64), y = backend.allocate("y", 64 * 64);
            backend.write(b, 0, new float[size], 0, size);
            for (int round = 0; round < 3; round++) {
                long start = System.nanoTime();
                for (int i = 0; i < calls; i++) backend.add(a, b, size);
                backend.sum(a, 1);
                double add = (System.nanoTime() - start) / 1e3 / (calls + 1);
                start = System.nanoTime();
                for (int i = 0; i < calls; i++) backend.matmul(y, x, w, 64, 64, 64);
                backend.sum(y, 1);
                double gemm = (System.nanoTime() - start) / 1e3 / (calls + 1);
                start = System.nanoTime();
                for (int i = 0; i < calls; i++) backend.sum(a, size);
                double sum = (System.nanoTime() - start) / 1e3 / calls;
                System.out.printf("RESULT calls round %d: add[%d] %.1f us/call, matmul[64^3] %.1f us/call, sum[%d] %.1f us/call%n",
                        round, size, add, gemm, size, sum);
            }
        }
    }
}
