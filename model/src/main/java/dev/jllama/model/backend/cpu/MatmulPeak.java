package dev.jllama.model.backend.cpu;

import dev.jllama.model.backend.Backend;
import dev.jllama.model.backend.PeakFlops;
import dev.jllama.model.backend.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The CPU backend's peak for MFU: the rate of its own matmul (whichever kernel runs, on its thread pool), measured
 * once per machine by a short probe and then read from {@link PeakFlopsCache}. A measured rate rather than a
 * datasheet figure: a CPU's peak depends on its clocks under load, the vector width the kernel uses and the cores
 * the backend was given, and MFU is meant to say how much of what this backend's matmul can do a training step gets.
 */
final class MatmulPeak {
    /** Inner dimension and width of the probe: large enough that a product runs at the kernel's rate. */
    static final int K = 1024;
    static final int N = 1024;
    /** Rows per thread: the OpenBLAS kernel cuts the rows into tiles of at most 256, so every thread gets one. */
    private static final int ROWS_PER_THREAD = 256;
    /**
     * The timed products stop once they have taken this long (and at least {@link #MIN_REPS} ran). The best of many
     * short products, not one long one: on a shared machine most are slowed by other processes, a few are not.
     */
    private static final double PROBE_SECONDS = 0.5;
    /**
     * With a cached peak, a check this long: a first probe on a busy machine is low (and MFU then reads high, even
     * above 100 %), and the cache keeps the highest figure seen, so a later quiet run mends it.
     */
    private static final double CHECK_SECONDS = 0.1;
    private static final int MIN_REPS = 3;

    private MatmulPeak() {}

    /**
     * The peak of this machine with {@code threads} threads and this matmul kernel: a probe's the first time, later
     * the higher of the cached figure and a short check's. The higher figure is cached.
     */
    static PeakFlops of(Backend backend, int threads, String kernel, PeakFlopsCache cache) {
        String key = cpuModel() + " | " + threads + (threads == 1 ? " thread | " : " threads | ") + kernel;
        Double cached = cache.get(key);
        double measured = measure(backend, threads, cached == null ? PROBE_SECONDS : CHECK_SECONDS);
        if (cached == null || measured > cached) cache.put(key, measured);
        if (cached == null) return new PeakFlops(measured, "matmul rate measured now, " + rows(threads) + "x" + N + "x" + K);
        return measured > cached
                ? new PeakFlops(measured, "matmul rate measured now, above the figure cached in " + cache.file())
                : new PeakFlops(cached, "matmul rate cached in " + cache.file());
    }

    private static int rows(int threads) {
        return ROWS_PER_THREAD * Math.max(4, threads);
    }

    /**
     * FLOP/s of the best of at least {@link #MIN_REPS} {@code rows × N × K} products timed over about
     * {@code budgetSeconds}, after one untimed one (first touch, JIT).
     */
    static double measure(Backend backend, int threads, double budgetSeconds) {
        int rows = rows(threads);
        Tensor x = backend.allocate("peak.x", rows * K), w = backend.allocate("peak.w", N * K);
        Tensor out = backend.allocate("peak.out", rows * N);
        try {
            float[] values = new float[Math.max(rows, N) * K];
            for (int i = 0; i < values.length; i++) values[i] = (i % 17 - 8) / 64f; // no zeros, no denormals
            backend.write(x, 0, values, 0, rows * K);
            backend.write(w, 0, values, 0, N * K);
            backend.matmul(out, x, w, rows, K, N);
            double best = Double.POSITIVE_INFINITY, spent = 0;
            for (int rep = 0; rep < MIN_REPS || spent < budgetSeconds; rep++) {
                long start = System.nanoTime();
                backend.matmul(out, x, w, rows, K, N);
                double seconds = (System.nanoTime() - start) / 1e9;
                best = Math.min(best, seconds);
                spent += seconds;
            }
            return 2.0 * rows * N * K / best;
        } finally {
            for (Tensor t : List.of(x, w, out)) backend.free(t);
        }
    }

    /** The CPU's model name (Linux's /proc/cpuinfo), else the architecture and core count the JVM sees. */
    static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name") && line.contains(":")) {
                    return line.substring(line.indexOf(':') + 1).strip();
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux: fall through
        }
        return System.getProperty("os.arch") + ", " + Runtime.getRuntime().availableProcessors() + " cores";
    }
}
