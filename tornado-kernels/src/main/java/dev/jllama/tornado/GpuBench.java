package dev.jllama.tornado;

import dev.jllama.model.Initializer;
import dev.jllama.model.LlamaConfig;
import dev.jllama.model.LlamaModel;
import dev.jllama.model.backend.Backend;
import dev.jllama.model.backend.Backends;
import dev.jllama.model.backend.KernelProfiler;
import dev.jllama.model.backend.Tensor;
import dev.jllama.model.optim.AdamW;
import dev.jllama.model.train.BatchSource;
import dev.jllama.model.train.StepStats;
import dev.jllama.model.train.TrainOptions;
import dev.jllama.model.train.Trainer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The measurements of {@code llama bench --what matmul} and {@code --what step} without Spark on the class path,
 * for the GPU machine: {@code GpuBench --backend tornado|cpu [--matmul PRESET:BATCH:SEQ,...]
 * [--step PRESET:BATCH:SEQ,...] [--steps N] [--device N] [--profile true] [--gemm 64|128] [--splitK true|false]}. Prints one result line
 * per measurement, prefixed {@code RESULT} (the backend named {@code tornado-gemm128} when {@code --gemm} picks
 * TornadoVM's GEMM kernel, with {@code -splitK-off} when {@code --splitK false}); with {@code --profile} also each kernel's calls and wall time per step
 * (exact here: every call of this backend is synchronous), prefixed {@code PROFILE}.
 */
public final class GpuBench {
    private GpuBench() {}

    record Run(String preset, int batch, int seqLen) {
        static List<Run> parse(String spec) {
            List<Run> runs = new ArrayList<>();
            if (spec == null || spec.isBlank()) return runs;
            for (String item : spec.split(",")) {
                String[] p = item.trim().split(":");
                if (p.length != 3) throw new IllegalArgumentException("expected PRESET:BATCH:SEQ, got '" + item + "'");
                runs.add(new Run(p[0], Integer.parseInt(p[1]), Integer.parseInt(p[2])));
            }
            return runs;
        }
    }

    public static void main(String[] argv) throws Exception {
        String backendName = "tornado", matmul = null, step = null, gemm = null, splitK = null;
        int steps = 5, device = -1;
        boolean profile = false;
        for (int i = 0; i < argv.length; i += 2) {
            String value = i + 1 < argv.length ? argv[i + 1] : null;
            if (value == null) throw new IllegalArgumentException("option " + argv[i] + " needs a value");
            switch (argv[i]) {
                case "--backend" -> backendName = value;
                case "--matmul" -> matmul = value;
                case "--step" -> step = value;
                case "--steps" -> steps = Integer.parseInt(value);
                case "--device" -> device = Integer.parseInt(value);
                case "--profile" -> profile = Boolean.parseBoolean(value);
                case "--gemm" -> gemm = value;
                case "--splitK" -> splitK = value;
                default -> throw new IllegalArgumentException("unknown option " + argv[i]);
            }
        }
        // Read by TornadoBackend when it starts (the same as -Djllama.tornado.gemm on the command line).
        if (gemm != null) System.setProperty("jllama.tornado.gemm", gemm);
        if (splitK != null) System.setProperty("jllama.tornado.splitK", splitK);
        try (Backend backend = Backends.create(backendName, device, 0)) {
            String label = backend.name() + (gemm != null ? "-gemm" + gemm : "")
                    + ("false".equalsIgnoreCase(splitK) ? "-splitK-off" : "");
            System.out.println("backend " + label + ": " + backend.device());
            for (Run run : Run.parse(matmul)) matmul(backend, label, run, steps);
            for (Run run : Run.parse(step)) step(backend, label, run, steps, profile);
        }
    }

    private static Tensor random(Backend backend, String name, int size, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        float[] v = new float[size];
        for (int i = 0; i < size; i++) v[i] = (float) (random.nextGaussian() * 0.1);
        Tensor t = backend.allocate(name, size);
        backend.write(t, 0, v, 0, size);
        return t;
    }

    /** GFLOP/s of the three matmul forms at the model's linear-layer shapes, as {@code llama bench --what matmul}. */
    static void matmul(Backend backend, String label, Run run, int reps) {
        LlamaConfig c = LlamaConfig.PRESETS.get(run.preset());
        int rows = run.batch() * run.seqLen();
        int[][] shapes = {{c.dim(), c.dim()}, {c.dim(), c.kvDim()}, {c.dim(), c.hiddenDim()}, {c.hiddenDim(), c.dim()},
                {c.dim(), c.vocabSize()}};
        String[] names = {"attention.wq/wo", "attention.wk/wv", "feed_forward.w1/w3", "feed_forward.w2", "output (256-row chunk)"};
        double totalFlops = 0, totalSeconds = 0;
        for (int s = 0; s < shapes.length; s++) {
            int in = shapes[s][0], out = shapes[s][1];
            int m = names[s].startsWith("output") ? Math.min(rows, 256) : rows;
            Tensor x = random(backend, "x", m * in, 1), w = random(backend, "w", out * in, 2);
            Tensor y = random(backend, "y", m * out, 3);
            Tensor dx = backend.allocate("dx", m * in), dw = backend.allocate("dw", out * in);
            double flops = 2.0 * m * in * out;
            for (String form : List.of("forward", "backward-input", "backward-weight")) {
                Runnable op = switch (form) {
                    case "forward" -> () -> backend.matmul(y, x, w, m, in, out);
                    case "backward-input" -> () -> backend.matmulBackwardInput(dx, y, w, m, in, out, false);
                    default -> () -> backend.matmulBackwardWeight(dw, y, x, m, in, out);
                };
                op.run();
                backend.sum(y, 1);
                long start = System.nanoTime();
                for (int i = 0; i < reps; i++) op.run();
                backend.sum(dw, 1);
                double seconds = (System.nanoTime() - start) / 1e9;
                totalFlops += flops * reps;
                totalSeconds += seconds;
                System.out.printf("RESULT matmul %s %s %-22s %-15s [%d x %d] x [%d x %d]^T %9.1f GFLOP/s%n",
                        label, run.preset(), names[s], form, m, in, out, in, flops * reps / seconds / 1e9);
            }
            for (Tensor t : List.of(x, w, y, dx, dw)) backend.free(t);
        }
        System.out.printf("RESULT matmul %s %s overall %.1f GFLOP/s%n", label, run.preset(), totalFlops / totalSeconds / 1e9);
    }

    /** Training tokens/s (forward, backward, clipped AdamW) as {@code llama bench --what step}. */
    static void step(Backend device, String label, Run run, int reps, boolean profile) throws Exception {
        KernelProfiler profiler = profile ? new KernelProfiler(device) : null;
        Backend backend = profile ? profiler.backend() : device;
        LlamaConfig config = LlamaConfig.PRESETS.get(run.preset());
        int seqLen = Math.min(run.seqLen(), config.maxSeqLen());
        TrainOptions options = new TrainOptions(reps + 1, seqLen, run.batch(), 1, 1e-4, 1, 0.1, 0, 1, 1, 1);
        try (LlamaModel model = new LlamaModel(config, backend);
             AdamW optimizer = new AdamW(backend, model.parameters(), AdamW.Hyper.LLAMA)) {
            Initializer.initialize(model, 1);
            Trainer trainer = new Trainer(model, optimizer, options);
            SplittableRandom random = new SplittableRandom(7);
            int vocab = config.vocabSize();
            BatchSource source = new BatchSource() {
                @Override
                public void next(int[] dst, int windows) {
                    for (int i = 0; i < windows * (seqLen + 1); i++) dst[i] = random.nextInt(vocab);
                }

                @Override
                public String position() {
                    return "random";
                }
            };
            long warm = System.nanoTime();
            trainer.step(0, source);
            System.out.printf("  %s warm-up step (compilation included): %.1f s%n", run.preset(), (System.nanoTime() - warm) / 1e9);
            if (profile) profiler.reset();
            double seconds = 0, loss = 0;
            for (int s = 1; s <= reps; s++) {
                StepStats stats = trainer.step(s, source);
                seconds += stats.seconds();
                loss = stats.loss();
            }
            double tokensPerS = options.tokensPerStep() * reps / seconds;
            System.out.printf("RESULT step %s %s %,d params batch %d x %d: %,.0f tokens/s, %.4f s/step, loss %.4f, activations %.0f MiB%n",
                    label, run.preset(), model.parameters().count(), run.batch(), seqLen, tokensPerS,
                    seconds / reps, loss, model.activations(run.batch(), seqLen).bytes() / 1048576.0);
            if (profile) printProfile(profiler, label, run, reps, seconds);
        }
    }

    /** Calls and wall time per step of each backend method, most expensive first, and what is left for the host. */
    private static void printProfile(KernelProfiler profiler, String label, Run run, int reps, double seconds) {
        double calls = 0, inKernels = 0;
        List<Map.Entry<String, double[]>> rows = new ArrayList<>(profiler.totals().entrySet());
        rows.sort((a, b) -> Double.compare(b.getValue()[0], a.getValue()[0]));
        for (Map.Entry<String, double[]> e : rows) {
            double s = e.getValue()[0], n = e.getValue()[1];
            calls += n;
            inKernels += s;
            System.out.printf("PROFILE %s %s %-22s %6.0f calls/step %8.2f ms/step %8.1f us/call%n",
                    label, run.preset(), e.getKey(), n / reps, s / reps * 1e3, s / n * 1e6);
        }
        System.out.printf("PROFILE %s %s total %.0f calls/step, %.2f ms/step in backend calls, %.2f ms/step elsewhere%n",
                label, run.preset(), calls / reps, inKernels / reps * 1e3, (seconds - inKernels) / reps * 1e3);
    }
}
