package dev.jllama.cli;

import dev.jllama.model.LlamaConfig;
import dev.jllama.model.backend.Backend;
import dev.jllama.model.backend.Backends;
import dev.jllama.model.bench.MatmulBenchmark;
import dev.jllama.model.bench.StepBenchmark;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@code llama bench}: throughput of the kernels and of training steps on the chosen backend. */
public final class BenchCommand implements Command {

    @Override
    public String name() {
        return "bench";
    }

    @Override
    public String usage() {
        return """
                llama bench [--what matmul|step|tokenize] [--model PRESET[,PRESET...]] [--batch N] [--seq-len N]
                            [--steps N] [--profile] [--backend auto|cpu|tornado] [--device N] [--threads N] [--json]
                  --what matmul    GFLOP/s of the three matmul forms at the linear-layer shapes of --model (default 15M)
                                   for --batch sequences of its context (default 8)
                  --what step      training tokens/s (forward, backward, AdamW) of each --model (default tiny,15M)
                                   at --batch sequences per step (default 16), random tokens; --profile adds the
                                   time and calls per step of every kernel
                  --what tokenize  tokenizer encoding MB/s on the bundled corpus (--tokenizer FILE, --input FILE)
                  --steps N        timed repetitions after warm-up (default 10 for matmul, 5 for step)""";
    }

    @Override
    public Map<String, Object> run(Args args, PrintStream out) throws Exception {
        String what = args.string("what", "step");
        return switch (what) {
            case "matmul" -> matmul(args, out);
            case "step" -> step(args, out);
            case "tokenize" -> TokenizeBenchmark.run(args, out);
            default -> throw new UsageException("--what must be matmul, step or tokenize, got '" + what + "'");
        };
    }

    private Map<String, Object> matmul(Args args, PrintStream out) throws Exception {
        String modelName = args.string("model", "15M");
        int batch = args.integer("batch", 8);
        int seqArg = args.integer("seq-len", -1);
        int reps = args.integer("steps", 10);
        String backendName = args.string("backend", "auto");
        int device = args.integer("device", -1);
        int threads = args.integer("threads", 0);
        args.checkAllUsed();
        LlamaConfig config = LlamaConfig.resolve(modelName);
        int rows = batch * (seqArg > 0 ? seqArg : config.maxSeqLen());
        try (Backend backend = Backends.create(backendName, device, threads)) {
            out.printf("matmul on %s (%s), model %s, %d rows%n", backend.name(), backend.device(), modelName, rows);
            List<MatmulBenchmark.Result> results = MatmulBenchmark.run(backend, config, rows, reps);
            List<Map<String, Object>> shapes = new ArrayList<>();
            for (MatmulBenchmark.Result r : results) {
                out.printf("  %-20s %-16s [%d x %d] x [%d x %d]^T  %8.1f GFLOP/s%n",
                        r.layer(), r.form(), r.m(), r.k(), r.n(), r.k(), r.gflops());
                Map<String, Object> shape = new LinkedHashMap<>();
                shape.put("layer", r.layer());
                shape.put("form", r.form());
                shape.put("m", r.m());
                shape.put("k", r.k());
                shape.put("n", r.n());
                shape.put("gflops", r.gflops());
                shapes.add(shape);
            }
            double overall = MatmulBenchmark.overallGflops(results);
            out.printf("overall %.1f GFLOP/s%n", overall);
            Map<String, Object> result = new LinkedHashMap<>();
            result.put("what", "matmul");
            result.put("backend", backend.name());
            result.put("device", backend.device());
            result.put("gflops", overall);
            result.put("shapes", shapes);
            return result;
        }
    }

    private Map<String, Object> step(Args args, PrintStream out) throws Exception {
        String models = args.string("model", "tiny,15M");
        int batch = args.integer("batch", 16);
        int seqArg = args.integer("seq-len", -1);
        int reps = args.integer("steps", 5);
        boolean profile = args.flag("profile");
        String backendName = args.string("backend", "auto");
        int device = args.integer("device", -1);
        int threads = args.integer("threads", 0);
        args.checkAllUsed();
        List<Map<String, Object>> results = new ArrayList<>();
        try (Backend backend = Backends.create(backendName, device, threads)) {
            for (String modelName : models.split(",")) {
                LlamaConfig config = LlamaConfig.resolve(modelName.trim());
                int seqLen = seqArg > 0 ? seqArg : Math.min(config.maxSeqLen(), 256);
                StepBenchmark.Result r = StepBenchmark.run(backend, config, batch, seqLen, reps, profile);
                out.printf("%-5s %,12d params | batch %d x %d | %,10.0f tokens/s | %.3f s/step | activations %.1f MiB"
                                + " | %s (%s)%n", modelName, r.parameters(), batch, seqLen, r.tokensPerS(),
                        r.secondsPerStep(), r.activationBytes() / 1048576.0, backend.name(), backend.device());
                if (profile) printProfile(out, r, reps);
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("model", modelName);
                m.put("parameters", r.parameters());
                m.put("batch", batch);
                m.put("seq_len", seqLen);
                m.put("tokens_per_s", r.tokensPerS());
                m.put("seconds_per_step", r.secondsPerStep());
                m.put("activation_bytes", r.activationBytes());
                m.put("loss", r.loss());
                results.add(m);
            }
            Map<String, Object> result = new LinkedHashMap<>();
            result.put("what", "step");
            result.put("backend", backend.name());
            result.put("device", backend.device());
            result.put("tokens_per_s", results.get(results.size() - 1).get("tokens_per_s"));
            result.put("models", results);
            return result;
        }
    }

    /** Calls and time per step of every kernel, most expensive first. */
    private static void printProfile(PrintStream out, StepBenchmark.Result r, int reps) {
        List<Map.Entry<String, double[]>> rows = new ArrayList<>(r.profile().entrySet());
        rows.sort((a, b) -> Double.compare(b.getValue()[0], a.getValue()[0]));
        for (Map.Entry<String, double[]> e : rows) {
            double seconds = e.getValue()[0], calls = e.getValue()[1];
            out.printf("    %-22s %6.0f calls/step %9.2f ms/step%n", e.getKey(), calls / reps, seconds / reps * 1e3);
        }
    }
}
