package dev.jllama.model.bench;

import dev.jllama.model.LlamaConfig;
import dev.jllama.model.backend.Backend;
import dev.jllama.model.backend.Tensor;
import dev.jllama.model.backend.cpu.OpenBlasBaseline;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.locks.LockSupport;

/**
 * GFLOP/s of the three matmul forms of every linear layer of a model (forward {@code x·Wᵀ}, backward-input
 * {@code dy·W}, backward-weight {@code dyᵀ·x}) at a given number of token rows; the LM head at one chunk of rows,
 * as the model computes it. Optionally against OpenBLAS alone on the same shapes and forms, measured interleaved
 * (ours, OpenBLAS, ours, OpenBLAS, ...) so that a machine shared with other work loads both alike; then each
 * repetition is timed alone and a round counts its median repetition, which another process's burst of work shifts
 * far less than a total would (a product here takes about a millisecond).
 */
public final class MatmulBenchmark {
    private MatmulBenchmark() {}

    /**
     * One shape and form, {@code [m x k] · [n x k]ᵀ}: seconds per repetition of each round, ours and OpenBLAS's
     * (empty without a baseline).
     */
    public record Result(String layer, String form, int m, int k, int n, double flopsPerRep, double[] seconds,
                         double[] baselineSeconds) {
        public double gflops() {
            return flopsPerRep / median(seconds) / 1e9;
        }

        public double baselineGflops() {
            return baselineSeconds.length == 0 ? Double.NaN : flopsPerRep / median(baselineSeconds) / 1e9;
        }

        /** Our speed over OpenBLAS's in each round (the same round's two measurements), sorted. */
        public double[] ratios() {
            double[] r = new double[baselineSeconds.length];
            for (int i = 0; i < r.length; i++) r[i] = baselineSeconds[i] / seconds[i];
            Arrays.sort(r);
            return r;
        }
    }

    private record Shape(String layer, int in, int out) {}

    /** The backend alone, one round. */
    public static List<Result> run(Backend backend, LlamaConfig c, int rows, int reps) {
        return run(backend, c, rows, reps, null, 1);
    }

    /**
     * @param baseline OpenBLAS alone, or null to measure only the backend
     * @param rounds   measurements per shape and form, each of {@code reps} repetitions
     */
    public static List<Result> run(Backend backend, LlamaConfig c, int rows, int reps, OpenBlasBaseline baseline,
                                   int rounds) {
        List<Shape> shapes = List.of(
                new Shape("attention.wq/wo", c.dim(), c.dim()),
                new Shape("attention.wk/wv", c.dim(), c.kvDim()),
                new Shape("feed_forward.w1/w3", c.dim(), c.hiddenDim()),
                new Shape("feed_forward.w2", c.hiddenDim(), c.dim()),
                new Shape("output", c.dim(), c.vocabSize()));
        List<Result> results = new ArrayList<>();
        for (Shape shape : shapes) {
            int m = shape.layer().equals("output") ? Math.min(rows, backend.logitChunkRows()) : rows;
            int in = shape.in(), out = shape.out();
            float[] xs = random(m * in, 1), ws = random(out * in, 2), ys = random(m * out, 3);
            Tensor x = upload(backend, "x", xs), w = upload(backend, "w", ws), y = upload(backend, "y", ys);
            Tensor dx = backend.allocate("dx", m * in);
            Tensor dw = backend.allocate("dw", out * in);
            float[] dxs = new float[m * in], dws = new float[out * in], yOut = new float[m * out];
            for (String form : List.of("forward", "backward-input", "backward-weight")) {
                Runnable ours = switch (form) {
                    case "forward" -> () -> backend.matmul(y, x, w, m, in, out);
                    case "backward-input" -> () -> backend.matmulBackwardInput(dx, y, w, m, in, out, false);
                    default -> () -> backend.matmulBackwardWeight(dw, y, x, m, in, out);
                };
                Runnable theirs = baseline == null ? null : switch (form) {
                    case "forward" -> () -> baseline.multiply(m, out, in, xs, false, ws, true, yOut, false);
                    case "backward-input" -> () -> baseline.multiply(m, in, out, ys, false, ws, false, dxs, false);
                    default -> () -> baseline.multiply(out, in, m, ys, true, xs, false, dws, true);
                };
                // Warm-up: JIT or kernel compilation, first touch.
                time(backend, y, ours, 3);
                if (theirs != null) {
                    baseline.withThreads(() -> theirs.run());
                    letOpenBlasThreadsSleep();
                }
                double[] seconds = new double[rounds];
                double[] baselineSeconds = new double[theirs == null ? 0 : rounds];
                for (int round = 0; round < rounds; round++) {
                    if (theirs == null) {
                        seconds[round] = time(backend, y, ours, reps) / reps;
                        continue;
                    }
                    rampUp(backend, y, ours);
                    seconds[round] = medianRepetition(backend, y, ours, reps);
                    double[] t = new double[1];
                    baseline.withThreads(() -> {
                        rampUp(null, null, theirs);
                        t[0] = medianRepetition(null, null, theirs, reps);
                    });
                    baselineSeconds[round] = t[0];
                    letOpenBlasThreadsSleep();
                }
                results.add(new Result(shape.layer(), form, m, in, out, 2.0 * m * in * out, seconds, baselineSeconds));
            }
            for (Tensor t : List.of(x, w, y, dx, dw)) backend.free(t);
        }
        return results;
    }

    /**
     * OpenBLAS's worker threads busy-wait after a threaded call (by default for 2^28 cycles, about 0.1 s) before they
     * sleep; measured right after, our kernel shares the cores with them (on 2 cores it lost a third of its speed).
     */
    private static void letOpenBlasThreadsSleep() {
        LockSupport.parkNanos(500_000_000L);
    }

    /**
     * Seconds for {@code reps} runs; a backend given is waited for through a read of {@code sync} (asynchronous
     * backends queue the work).
     */
    static double time(Backend backend, Tensor sync, Runnable op, int reps) {
        if (backend != null) backend.sum(sync, 1);
        long start = System.nanoTime();
        for (int i = 0; i < reps; i++) op.run();
        if (backend != null) backend.sum(sync, 1);
        return (System.nanoTime() - start) / 1e9;
    }

    /**
     * Runs {@code op} untimed for {@link #RAMP_UP_NANOS}: after the pause for OpenBLAS's threads the cores run slower
     * for a while, and a millisecond product measured right then read a third below its speed (the side measured
     * second, straight after the first, did not pay this).
     */
    private static void rampUp(Backend backend, Tensor sync, Runnable op) {
        long start = System.nanoTime();
        while (System.nanoTime() - start < RAMP_UP_NANOS) time(backend, sync, op, 1);
    }

    private static final long RAMP_UP_NANOS = 50_000_000L;

    /** Seconds of the median of {@code reps} runs, each timed alone (and waited for, as in {@link #time}). */
    static double medianRepetition(Backend backend, Tensor sync, Runnable op, int reps) {
        double[] seconds = new double[reps];
        for (int i = 0; i < reps; i++) seconds[i] = time(backend, sync, op, 1);
        return median(seconds);
    }

    /** Total flops over total time (each shape and form at its median round), ours. */
    public static double overallGflops(List<Result> results) {
        double flops = 0, seconds = 0;
        for (Result r : results) {
            flops += r.flopsPerRep();
            seconds += median(r.seconds());
        }
        return flops / seconds / 1e9;
    }

    /** Total flops over total time (each shape and form at its median round), OpenBLAS's. */
    public static double overallBaselineGflops(List<Result> results) {
        double flops = 0, seconds = 0;
        for (Result r : results) {
            flops += r.flopsPerRep();
            seconds += median(r.baselineSeconds());
        }
        return flops / seconds / 1e9;
    }

    /** Overall ratio (ours over OpenBLAS, total flops over total time) of each round, sorted. */
    public static double[] overallRatios(List<Result> results) {
        int rounds = results.getFirst().baselineSeconds().length;
        double[] ratios = new double[rounds];
        for (int round = 0; round < rounds; round++) {
            double ours = 0, theirs = 0;
            for (Result r : results) {
                ours += r.seconds()[round];
                theirs += r.baselineSeconds()[round];
            }
            ratios[round] = theirs / ours;
        }
        Arrays.sort(ratios);
        return ratios;
    }

    /** The median of the values (NaN for none). */
    public static double median(double[] values) {
        if (values.length == 0) return Double.NaN;
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int mid = sorted.length / 2;
        return sorted.length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    static float[] random(int size, long seed) {
        float[] values = new float[size];
        SplittableRandom random = new SplittableRandom(seed);
        for (int i = 0; i < size; i++) values[i] = (float) (random.nextDouble() * 2 - 1);
        return values;
    }

    static Tensor upload(Backend backend, String name, float[] values) {
        Tensor t = backend.allocate(name, values.length);
        backend.write(t, 0, values, 0, values.length);
        return t;
    }
}
