package dev.jllama.tornado;

import dev.jllama.model.LlamaConfig;
import dev.jllama.model.backend.Backend;
import dev.jllama.model.backend.Backends;
import dev.jllama.model.bench.AttentionBenchmark;
import dev.jllama.model.bench.MatmulBenchmark;
import dev.jllama.model.bench.StepBenchmark;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The measurements of {@code llama bench --what matmul} and {@code --what step} without Spark on the class path,
 * for the GPU machine: {@code GpuBench --backend tornado|cpu [--matmul PRESET:BATCH:SEQ,...] [--attention PRESET:BATCH:SEQ,...]
 * [--step PRESET:BATCH:SEQ,...]... [--shape NAME,...] [--steps N] [--device N] [--profile true] [--gemm 64|128] [--splitK true|false]}. Prints one result line
 * per measurement, prefixed {@code RESULT} (the backend named {@code tornado-gemm128} when {@code --gemm} picks
 * TornadoVM's GEMM kernel, with {@code -splitK-off} when {@code --splitK false}); with {@code --profile} also each kernel's calls and wall time per step
 * (the TornadoVM backend queues calls and runs a layer's as one execution, so a group's time is charged to the call
 * that runs it; the counts and the total are exact), prefixed {@code PROFILE}. {@code --shape} adds training
 * steps at named shapes, run before {@code --step}'s, the GPU throughput goals of {@link StepBenchmark#SHAPES}
 * ({@code gpu-15M}, {@code gpu-110M}, {@code gpu-1.1B}), as {@code llama bench --what step --shape}.
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
        String backendName = "tornado", matmul = null, attention = null, step = null, shape = null, gemm = null, splitK = null;
        int steps = 5, device = -1;
        boolean profile = false;
        for (int i = 0; i < argv.length; i += 2) {
            String value = i + 1 < argv.length ? argv[i + 1] : null;
            if (value == null) throw new IllegalArgumentException("option " + argv[i] + " needs a value");
            switch (argv[i]) {
                case "--backend" -> backendName = value;
                case "--matmul" -> matmul = value;
                case "--attention" -> attention = value;
                case "--step" -> step = step == null ? value : step + "," + value; // repeatable
                case "--shape" -> shape = value;
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
            for (Run run : Run.parse(attention)) attention(backend, label, run, steps);
            List<Run> stepRuns = new ArrayList<>();
            if (shape != null) {
                for (StepBenchmark.Shape s : StepBenchmark.shapes(shape)) stepRuns.add(new Run(s.model(), s.batch(), s.seqLen()));
            }
            stepRuns.addAll(Run.parse(step));
            for (Run run : stepRuns) step(backend, label, run, steps, profile);
        }
    }

    /** GFLOP/s of the three matmul forms at the model's linear-layer shapes, as {@code llama bench --what matmul}. */
    static void matmul(Backend backend, String label, Run run, int reps) {
        LlamaConfig c = LlamaConfig.PRESETS.get(run.preset());
        List<MatmulBenchmark.Result> results = MatmulBenchmark.run(backend, c, run.batch() * run.seqLen(), reps);
        for (MatmulBenchmark.Result r : results) {
            System.out.printf("RESULT matmul %s %s %-22s %-15s [%d x %d] x [%d x %d]^T %9.1f GFLOP/s%n",
                    label, run.preset(), r.layer(), r.form(), r.m(), r.k(), r.n(), r.k(), r.gflops());
        }
        System.out.printf("RESULT matmul %s %s overall %.1f GFLOP/s%n", label, run.preset(),
                MatmulBenchmark.overallGflops(results));
    }

    /** Causal attention of the model's heads, forward and backward: milliseconds and GFLOP/s (causal FLOPs). */
    static void attention(Backend backend, String label, Run run, int reps) {
        LlamaConfig c = LlamaConfig.PRESETS.get(run.preset());
        AttentionBenchmark.Result r = AttentionBenchmark.run(backend, c, run.batch(), run.seqLen(), reps);
        System.out.printf("RESULT attention %s %s batch %d x %d heads %d/%d head_dim %d: forward %.3f ms %.1f GFLOP/s,"
                        + " backward %.3f ms %.1f GFLOP/s%n", label, run.preset(), r.batch(), r.seqLen(), r.heads(),
                r.kvHeads(), r.headDim(), r.forwardSeconds() * 1e3, r.forwardGflops(), r.backwardSeconds() * 1e3,
                r.backwardGflops());
    }

    /** Training tokens/s (forward, backward, clipped AdamW) as {@code llama bench --what step}. */
    static void step(Backend backend, String label, Run run, int reps, boolean profile) throws Exception {
        LlamaConfig config = LlamaConfig.PRESETS.get(run.preset());
        int seqLen = Math.min(run.seqLen(), config.maxSeqLen());
        StepBenchmark.Result r = StepBenchmark.run(backend, config, run.batch(), seqLen, reps, profile);
        System.out.printf("  %s warm-up step (compilation included): %.1f s%n", run.preset(), r.warmupSeconds());
        System.out.printf("RESULT step %s %s %,d params batch %d x %d: %,.0f tokens/s, %.4f s/step, loss %.4f, activations %.0f MiB,"
                        + " device memory %.0f MiB in use of %.0f MiB reserved%n",
                label, run.preset(), r.parameters(), run.batch(), seqLen, r.tokensPerS(), r.secondsPerStep(), r.loss(),
                r.activationBytes() / 1048576.0, r.deviceBytesInUse() / 1048576.0, r.deviceBytesReserved() / 1048576.0);
        if (profile) {
            printProfile(r.profile(), label, run, reps, r.secondsPerStep() * reps);
            System.out.printf("PROFILE %s %s executions_per_step %.0f%n", label, run.preset(), r.executionsPerStep());
        }
    }

    /** Calls and wall time per step of each backend method, most expensive first, and what is left for the host. */
    private static void printProfile(Map<String, double[]> totals, String label, Run run, int reps, double seconds) {
        double calls = 0, inKernels = 0;
        List<Map.Entry<String, double[]>> rows = new ArrayList<>(totals.entrySet());
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
