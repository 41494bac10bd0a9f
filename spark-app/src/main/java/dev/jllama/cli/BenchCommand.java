package dev.jllama.cli;

import dev.jllama.collective.AllReduceBench;
import dev.jllama.model.LlamaConfig;
import dev.jllama.model.backend.Backend;
import dev.jllama.model.backend.Backends;
import dev.jllama.model.bench.MatmulBenchmark;
import dev.jllama.model.bench.StepBenchmark;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code llama bench}: throughput of the kernels and of training steps on the chosen backend, and bandwidth of the
 * collective.
 */
public final class BenchCommand implements Command {

    @Override
    public String name() {
        return "bench";
    }

    @Override
    public String usage() {
        return """
                llama bench [--what matmul|step|tokenize|allreduce|scaling] [--model PRESET[,PRESET...]] [--batch N]
                            [--seq-len N] [--steps N] [--profile] [--backend auto|cpu|tornado] [--device N]
                            [--threads N] [--ranks N] [--sizes MIB[,MIB...]] [--data SPEC] [--json]
                  --what matmul    GFLOP/s of the three matmul forms at the linear-layer shapes of --model (default 15M)
                                   for --batch sequences of its context (default 8)
                  --what step      training tokens/s (forward, backward, AdamW) of each --model (default tiny,15M)
                                   at --batch sequences per step (default 16), random tokens; --profile adds the
                                   time and calls per step of every kernel and, on a device backend, the device
                                   executions per step (executions_per_step)
                  --what tokenize  tokenizer encoding MB/s on the bundled corpus (--tokenizer FILE, --input FILE)
                  --what allreduce ring all-reduce between --ranks processes on this machine (default 2, 2..4) over
                                   loopback TCP for each of --sizes MiB (default 1,4,16,64,256): algorithm bandwidth
                                   (bytes / time) and bus bandwidth (algbw x 2(N-1)/N), against a plain single-stream
                                   TCP copy between two processes
                  --what scaling   training step time of --model (default 15M) with --ranks ranks (default 2) of one
                                   thread each, every rank an executor JVM of a local-cluster, against one rank of
                                   one thread at the same per-rank batch (--batch sequences of --seq-len, default
                                   4 x 256) on the bundled corpus (or --data); ratio = ranks_s / one_rank_s
                  --steps N        timed repetitions after warm-up (default 10 for matmul, 5 for step, 6 for
                                   scaling)""";
    }

    @Override
    public Map<String, Object> run(Args args, PrintStream out) throws Exception {
        String what = args.string("what", "step");
        return switch (what) {
            case "matmul" -> matmul(args, out);
            case "step" -> step(args, out);
            case "tokenize" -> TokenizeBenchmark.run(args, out);
            case "allreduce" -> allReduce(args, out);
            case "scaling" -> scaling(args, out);
            default -> throw new UsageException("--what must be matmul, step, tokenize, allreduce or scaling, got '"
                    + what + "'");
        };
    }

    /** Data-parallel overhead: the same per-rank step with one rank and with several, each in its own JVM. */
    private Map<String, Object> scaling(Args args, PrintStream out) throws Exception {
        String model = args.string("model", "15M");
        int batch = args.integer("batch", 4);
        int seqLen = args.integer("seq-len", 256);
        int steps = args.integer("steps", 6);
        int ranks = args.integer("ranks", 2);
        String data = args.string("data", null);
        args.checkAllUsed();
        if (ranks < 2) throw new UsageException("--ranks must be at least 2, got " + ranks);
        double one = stepSeconds(1, model, batch, seqLen, steps, data, out).get("step_s");
        Map<String, Double> multi = stepSeconds(ranks, model, batch, seqLen, steps, data, out);
        double many = multi.get("step_s");
        double exposed = multi.get("comm_wait_s") / (steps + 1);
        out.printf("step time, %s at %d x %d per rank: 1 rank %.3f s, %d ranks %.3f s (separate JVMs, 1 thread each):"
                + " %.3fx; rank 0 waited %.3f s per step for gradients after its backward pass%n",
                model, batch, seqLen, one, ranks, many, many / one, exposed);
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("model", model);
        result.put("batch_per_rank", batch);
        result.put("seq_len", seqLen);
        result.put("ranks", ranks);
        result.put("one_rank_s", one);
        result.put("ranks_s", many);
        result.put("ratio", many / one);
        result.put("comm_wait_s_per_step", exposed);
        return result;
    }

    /**
     * Mean step time after the first ({@code step_s}) of a training run with {@code ranks} executor JVMs of one core
     * each, and rank 0's total wait for gradient transfers ({@code comm_wait_s}).
     */
    private static Map<String, Double> stepSeconds(int ranks, String model, int batch, int seqLen, int steps, String data,
                                      PrintStream out) throws Exception {
        List<String> argv = new ArrayList<>(List.of("--model", model, "--micro-batch", Integer.toString(batch),
                "--seq-len", Integer.toString(seqLen), "--steps", Integer.toString(steps + 1), "--ranks",
                Integer.toString(ranks), "--threads", "1", "--backend", "cpu", "--checkpoint-every", "0",
                "--eval-batches", "0", "--log-every", "1", "--master", "local-cluster[" + ranks + ",1,2048]",
                "--out", Path.of("runs", "bench-scaling", ranks + "-ranks").toString()));
        if (data != null) argv.addAll(List.of("--data", data));
        Map<String, Object> result = new TrainCommand().run(Args.parse(argv.toArray(String[]::new), 0), out);
        double step = ((Number) result.get("tokens_per_step")).doubleValue()
                / ((Number) result.get("tokens_per_s")).doubleValue();
        double wait = ((Number) ((List<?>) result.get("comm_wait_s")).get(0)).doubleValue();
        return Map.of("step_s", step, "comm_wait_s", wait);
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
                if (r.executionsPerStep() >= 0) m.put("executions_per_step", r.executionsPerStep());
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

    private Map<String, Object> allReduce(Args args, PrintStream out) throws Exception {
        int ranks = args.integer("ranks", 2);
        List<Integer> sizes = mebibytes(args.string("sizes", "1,4,16,64,256"));
        args.checkAllUsed();
        if (ranks < 2 || ranks > 4) throw new UsageException("--ranks must be 2..4, got " + ranks);
        out.printf("all-reduce between %d rank processes over loopback TCP (%d cores)%n", ranks,
                Runtime.getRuntime().availableProcessors());
        AllReduceBench.Result result = AllReduceBench.run(ranks, sizes);
        out.printf("single-stream TCP copy: %.2f GB/s%n", result.tcpGbps());
        out.printf("%8s %6s %12s %12s %12s %10s%n", "MiB", "reps", "ms/op (med)", "algbw GB/s", "busbw GB/s",
                "busbw/tcp");
        List<Map<String, Object>> rows = new ArrayList<>();
        for (AllReduceBench.SizeResult size : result.sizes()) {
            double ratio = size.busbwGbps() / result.tcpGbps();
            out.printf("%8d %6d %12.2f %12.2f %12.2f %10.2f%n", size.mib(), size.repetitions(),
                    size.secondsPerAllReduce() * 1e3, size.algbwGbps(), size.busbwGbps(), ratio);
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("mib", size.mib());
            row.put("algbw_gbps", size.algbwGbps());
            row.put("busbw_gbps", size.busbwGbps());
            row.put("busbw_over_tcp", ratio);
            rows.add(row);
        }
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("what", "allreduce");
        json.put("ranks", ranks);
        json.put("tcp_gbps", result.tcpGbps());
        json.put("sizes", rows);
        return json;
    }

    private static List<Integer> mebibytes(String csv) {
        List<Integer> sizes = new ArrayList<>();
        for (String size : csv.split(",")) {
            int mib;
            try {
                mib = Integer.parseInt(size.trim());
            } catch (NumberFormatException e) {
                throw new UsageException("--sizes must be MiB counts separated by commas, got '" + csv + "'");
            }
            if (mib < 1 || mib > 1024) throw new UsageException("--sizes must be 1..1024 MiB each, got " + mib);
            sizes.add(mib);
        }
        return sizes;
    }

    /** Calls and time per step of every kernel, most expensive first. */
    private static void printProfile(PrintStream out, StepBenchmark.Result r, int reps) {
        List<Map.Entry<String, double[]>> rows = new ArrayList<>(r.profile().entrySet());
        rows.sort((a, b) -> Double.compare(b.getValue()[0], a.getValue()[0]));
        for (Map.Entry<String, double[]> e : rows) {
            double seconds = e.getValue()[0], calls = e.getValue()[1];
            out.printf("    %-22s %6.0f calls/step %9.2f ms/step%n", e.getKey(), calls / reps, seconds / reps * 1e3);
        }
        if (r.executionsPerStep() >= 0) out.printf("    %.0f device executions/step%n", r.executionsPerStep());
    }
}
