package dev.jllama.model.bench;

import dev.jllama.model.LlamaConfig;
import dev.jllama.model.backend.Backend;
import dev.jllama.model.backend.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * GFLOP/s of the three matmul forms of every linear layer of a model (forward {@code x·Wᵀ}, backward-input
 * {@code dy·W}, backward-weight {@code dyᵀ·x}) at a given number of token rows; the LM head at one chunk of rows,
 * as the model computes it.
 */
public final class MatmulBenchmark {
    private MatmulBenchmark() {}

    /** One shape and form: {@code [m x k] · [n x k]ᵀ}. */
    public record Result(String layer, String form, int m, int k, int n, double flops, double seconds) {
        public double gflops() {
            return flops / seconds / 1e9;
        }
    }

    private record Shape(String layer, int in, int out) {}

    public static List<Result> run(Backend backend, LlamaConfig c, int rows, int reps) {
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
            Tensor x = random(backend, "x", m * in, 1);
            Tensor w = random(backend, "w", out * in, 2);
            Tensor y = random(backend, "y", m * out, 3);
            Tensor dx = backend.allocate("dx", m * in);
            Tensor dw = backend.allocate("dw", out * in);
            for (String form : List.of("forward", "backward-input", "backward-weight")) {
                Runnable op = switch (form) {
                    case "forward" -> () -> backend.matmul(y, x, w, m, in, out);
                    case "backward-input" -> () -> backend.matmulBackwardInput(dx, y, w, m, in, out, false);
                    default -> () -> backend.matmulBackwardWeight(dw, y, x, m, in, out);
                };
                for (int i = 0; i < 3; i++) op.run(); // warm-up: JIT or kernel compilation, first touch
                backend.sum(y, 1); // waits for queued work on asynchronous backends
                long start = System.nanoTime();
                for (int i = 0; i < reps; i++) op.run();
                backend.sum(dw, 1);
                double seconds = (System.nanoTime() - start) / 1e9;
                results.add(new Result(shape.layer(), form, m, in, out, 2.0 * m * in * out * reps, seconds));
            }
            for (Tensor t : List.of(x, w, y, dx, dw)) backend.free(t);
        }
        return results;
    }

    /** Total flops over total time. */
    public static double overallGflops(List<Result> results) {
        double flops = 0, seconds = 0;
        for (Result r : results) {
            flops += r.flops();
            seconds += r.seconds();
        }
        return flops / seconds / 1e9;
    }

    private static Tensor random(Backend backend, String name, int size, long seed) {
        float[] values = new float[size];
        SplittableRandom random = new SplittableRandom(seed);
        for (int i = 0; i < size; i++) values[i] = (float) (random.nextDouble() * 2 - 1);
        Tensor t = backend.allocate(name, size);
        backend.write(t, 0, values, 0, size);
        return t;
    }
}
