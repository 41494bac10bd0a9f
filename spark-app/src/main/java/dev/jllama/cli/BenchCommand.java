package dev.jllama.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jllama.collective.AllReduceBench;
import dev.jllama.model.LlamaConfig;
import dev.jllama.model.backend.Backend;
import dev.jllama.model.backend.Backends;
import dev.jllama.model.backend.cpu.CpuBackend;
import dev.jllama.model.backend.cpu.OpenBlasBaseline;
import dev.jllama.model.bench.MatmulBenchmark;
import dev.jllama.model.bench.StepBenchmark;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
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
                llama bench [--what matmul|step|tokenize|allreduce|scaling|prepare] [--model PRESET[,PRESET...]]
                            [--batch N[,N...]] [--seq-len N] [--shape NAME[,NAME...]] [--steps N] [--rounds N]
                            [--profile] [--python PATH]
                            [--no-openblas] [--backend auto|cpu|tornado] [--device N] [--threads N] [--ranks N]
                            [--sizes MIB[,MIB...]] [--data SPEC] [--master URL] [--work DIR] [--json]
                  --what matmul    GFLOP/s of the three matmul forms at the linear-layer shapes of --model (default 15M)
                                   for --batch sequences of its context (default 8), and the matmul kernel that ran;
                                   against OpenBLAS alone (one sgemm per product, OpenBLAS threaded as many ways as
                                   the backend; --no-openblas leaves it out) measured interleaved with ours for
                                   --rounds rounds (default 3), and PyTorch on the same shapes with --python
                  --what step      training tokens/s (forward, backward, AdamW) of each --model (default tiny,15M)
                                   at --batch sequences per step (default 16; one per model, e.g. 16,4,2), random
                                   tokens; --profile adds the time and calls per step of every kernel and, on a
                                   device backend, the device executions per step (executions_per_step); with
                                   --python, PyTorch on the same model code, batch and threads after each of
                                   --rounds rounds (default 1)
                  --shape NAMES    (step) instead of --model, --batch and --seq-len: named shapes, the GPU
                                   throughput goals: gpu-15M (15M at 32 x 256), gpu-110M (110M at 16 x 1024),
                                   gpu-1.1B (1.1B at 4 x 2048), e.g. --shape gpu-15M,gpu-110M
                  --python PATH    the Python with PyTorch for the baselines (default: $JLLAMA_HF_PYTHON, else none);
                                   runs the project's model/src/test/python scripts
                  --what tokenize  tokenizer encoding MB/s on the bundled corpus (--tokenizer FILE, --input FILE)
                  --what allreduce ring all-reduce between --ranks processes on this machine (default 2, 2..4) over
                                   loopback TCP for each of --sizes MiB (default 1,4,16,64,256): algorithm bandwidth
                                   (bytes / time) and bus bandwidth (algbw x 2(N-1)/N), against a plain single-stream
                                   TCP copy between two processes
                  --what scaling   training step time of --model (default 15M) with --ranks ranks (default 2) of one
                                   thread each, every rank an executor JVM of a local-cluster, against one rank of
                                   one thread at the same per-rank batch (--batch sequences of --seq-len, default
                                   4 x 256) on the bundled corpus (or --data); ratio = ranks_s / one_rank_s
                  --what prepare   end-to-end MB/s of the preparation job (both deduplications on) on generated
                                   JSON-lines corpora of --sizes MB (default 100,200,400) with planted copies, after
                                   an untimed 20 MB warm-up, on --master (default local-cluster[2,1,3072]: executors
                                   in their own JVMs, so the driver's heap is the driver's alone); the driver's peak
                                   heap per size, and the single-thread tokenizer rate on the same text beside it;
                                   corpora and datasets under --work DIR (default runs/bench-prepare), removed after
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
            case "prepare" -> PrepareBenchmark.run(args, out);
            default -> throw new UsageException("--what must be matmul, step, tokenize, allreduce, scaling or prepare, got '"
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
        int rounds = args.integer("rounds", 3);
        boolean openblas = !args.flag("no-openblas");
        String backendName = args.string("backend", "auto");
        int device = args.integer("device", -1);
        int threads = args.integer("threads", 0);
        PythonBaseline python = PythonBaseline.fromArgs(args);
        args.checkAllUsed();
        if (rounds < 1) throw new UsageException("--rounds must be at least 1, got " + rounds);
        LlamaConfig config = LlamaConfig.resolve(modelName);
        int rows = batch * (seqArg > 0 ? seqArg : config.maxSeqLen());
        try (Backend backend = Backends.create(backendName, device, threads)) {
            int usedThreads = backend instanceof CpuBackend cpu ? cpu.threads()
                    : threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
            OpenBlasBaseline baseline = openblas ? OpenBlasBaseline.create(usedThreads) : null;
            out.printf("matmul on %s (%s), model %s, %d rows, %d rounds of %d%n", backend.name(), backend.device(),
                    modelName, rows, rounds, reps);
            if (baseline != null) {
                out.printf("against OpenBLAS alone: %s (one sgemm per product), measured interleaved with ours;"
                        + " a round is its median repetition%n",
                        baseline.describe());
            } else if (openblas) {
                out.printf("no OpenBLAS baseline: %s%n", OpenBlasBaseline.unavailableReason());
            }
            List<MatmulBenchmark.Result> results = MatmulBenchmark.run(backend, config, rows, reps, baseline, rounds);
            JsonNode torch = null;
            if (python != null) {
                out.println("PyTorch, same shapes and forms (after ours):");
                torch = python.run("bench_matmul.py", List.of("--library", "torch", "--model", modelName,
                        "--rows", Integer.toString(rows), "--steps", Integer.toString(reps),
                        "--rounds", Integer.toString(rounds), "--threads", Integer.toString(usedThreads)), out);
                out.printf("PyTorch: %s%n", torch.get("library").asText());
            }
            out.printf("  %-20s %-16s %-28s %9s %9s %-17s %9s%n", "layer", "form", "shape", "ours", "openblas",
                    "ours/openblas", "torch");
            List<Map<String, Object>> shapes = new ArrayList<>();
            for (int i = 0; i < results.size(); i++) {
                MatmulBenchmark.Result r = results.get(i);
                double torchGflops = torch == null ? Double.NaN : torch.get("shapes").get(i).get("gflops").asDouble();
                out.printf("  %-20s %-16s %-28s %9.1f %9s %-17s %9s%n", r.layer(), r.form(),
                        "[" + r.m() + " x " + r.k() + "] x [" + r.n() + " x " + r.k() + "]^T", r.gflops(),
                        baseline == null ? "-" : String.format("%.1f", r.baselineGflops()),
                        baseline == null ? "-" : spread(r.ratios()),
                        torch == null ? "-" : String.format("%.1f", torchGflops));
                Map<String, Object> shape = new LinkedHashMap<>();
                shape.put("layer", r.layer());
                shape.put("form", r.form());
                shape.put("m", r.m());
                shape.put("k", r.k());
                shape.put("n", r.n());
                shape.put("gflops", r.gflops());
                if (baseline != null) {
                    shape.put("openblas_gflops", r.baselineGflops());
                    shape.put("ratio_per_round", r.ratios());
                }
                if (torch != null) shape.put("torch_gflops", torchGflops);
                shapes.add(shape);
            }
            double overall = MatmulBenchmark.overallGflops(results);
            Map<String, Object> result = new LinkedHashMap<>();
            result.put("what", "matmul");
            result.put("backend", backend.name());
            result.put("device", backend.device());
            if (backend instanceof CpuBackend cpu) result.put("kernel", cpu.matmulKernel());
            result.put("gflops", overall);
            out.printf("overall: ours %.1f GFLOP/s", overall);
            if (baseline != null) {
                double[] ratios = MatmulBenchmark.overallRatios(results);
                double theirs = MatmulBenchmark.overallBaselineGflops(results);
                out.printf(", OpenBLAS %.1f GFLOP/s, ours/OpenBLAS per round %s", theirs, spread(ratios));
                result.put("openblas", baseline.describe());
                result.put("openblas_gflops", theirs);
                result.put("ratio_per_round", ratios);
            }
            if (torch != null) {
                out.printf(", PyTorch %.1f GFLOP/s", torch.get("gflops").asDouble());
                result.put("torch", torch.get("library").asText());
                result.put("torch_gflops", torch.get("gflops").asDouble());
            }
            out.println();
            result.put("shapes", shapes);
            return result;
        }
    }

    /** Sorted ratios as "min-max (n)", or the one value. */
    private static String spread(double[] sorted) {
        if (sorted.length == 1) return String.format("%.2f", sorted[0]);
        return String.format("%.2f-%.2f (%d)", sorted[0], sorted[sorted.length - 1], sorted.length);
    }

    private Map<String, Object> step(Args args, PrintStream out) throws Exception {
        String shapeNames = args.string("shape", null);
        if (shapeNames != null && (args.has("model") || args.has("batch") || args.has("seq-len"))) {
            throw new UsageException("--shape names the model, batch and sequence length: give it without --model,"
                    + " --batch and --seq-len");
        }
        String models = args.string("model", "tiny,15M");
        String batches = args.string("batch", "16");
        int seqArg = args.integer("seq-len", -1);
        int reps = args.integer("steps", 5);
        int rounds = args.integer("rounds", 1);
        boolean profile = args.flag("profile");
        String backendName = args.string("backend", "auto");
        int device = args.integer("device", -1);
        int threads = args.integer("threads", 0);
        PythonBaseline python = PythonBaseline.fromArgs(args);
        args.checkAllUsed();
        if (rounds < 1) throw new UsageException("--rounds must be at least 1, got " + rounds);
        List<StepBenchmark.Shape> shapes = shapeNames != null ? namedShapes(shapeNames) : shapes(models, batches, seqArg);
        List<Map<String, Object>> results = new ArrayList<>();
        try (Backend backend = Backends.create(backendName, device, threads)) {
            int usedThreads = backend instanceof CpuBackend cpu ? cpu.threads()
                    : threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
            for (StepBenchmark.Shape shape : shapes) {
                String modelName = shape.model();
                int batch = shape.batch();
                LlamaConfig config = LlamaConfig.resolve(modelName);
                int seqLen = shape.seqLen() > 0 ? shape.seqLen() : Math.min(config.maxSeqLen(), 256);
                double[] ours = new double[rounds], torch = new double[python == null ? 0 : rounds];
                StepBenchmark.Result r = null;
                for (int round = 0; round < rounds; round++) {
                    r = StepBenchmark.run(backend, config, batch, seqLen, reps, profile);
                    ours[round] = r.tokensPerS();
                    out.printf("%-5s %,12d params | batch %d x %d | %,10.0f tokens/s | %.3f s/step | activations"
                                    + " %.1f MiB | %s (%s)%n", modelName, r.parameters(), batch, seqLen,
                            r.tokensPerS(), r.secondsPerStep(), r.activationBytes() / 1048576.0, backend.name(),
                            backend.device());
                    if (r.deviceBytesReserved() >= 0) {
                        out.printf("      device memory: %.0f MiB in use of %.0f MiB reserved%n",
                                r.deviceBytesInUse() / 1048576.0, r.deviceBytesReserved() / 1048576.0);
                    }
                    if (profile) printProfile(out, r, reps);
                    if (python != null) {
                        JsonNode t = python.run("bench_torch.py", List.of("--model", modelName,
                                "--batch", Integer.toString(batch), "--seq-len", Integer.toString(seqLen),
                                "--steps", Integer.toString(reps), "--threads", Integer.toString(usedThreads)), out);
                        torch[round] = t.get("tokens_per_s").asDouble();
                        out.printf("      ours / PyTorch: %.2f%n", ours[round] / torch[round]);
                    }
                }
                Map<String, Object> m = new LinkedHashMap<>();
                if (shapeNames != null) m.put("shape", shape.name());
                m.put("model", modelName);
                m.put("parameters", r.parameters());
                m.put("batch", batch);
                m.put("seq_len", seqLen);
                m.put("tokens_per_s", MatmulBenchmark.median(ours));
                m.put("tokens_per_s_per_round", ours);
                m.put("seconds_per_step", r.secondsPerStep());
                m.put("activation_bytes", r.activationBytes());
                m.put("loss", r.loss());
                if (r.executionsPerStep() >= 0) m.put("executions_per_step", r.executionsPerStep());
                if (r.deviceBytesReserved() >= 0) {
                    m.put("device_bytes_in_use", r.deviceBytesInUse());
                    m.put("device_bytes_reserved", r.deviceBytesReserved());
                }
                if (python != null) {
                    double[] ratios = new double[rounds];
                    for (int round = 0; round < rounds; round++) ratios[round] = ours[round] / torch[round];
                    Arrays.sort(ratios);
                    m.put("torch_tokens_per_s_per_round", torch);
                    m.put("ratio_per_round", ratios);
                    if (rounds > 1) out.printf("%-5s ours / PyTorch over %d rounds: %s%n", modelName, rounds,
                            spread(ratios));
                }
                results.add(m);
            }
            Map<String, Object> result = new LinkedHashMap<>();
            result.put("what", "step");
            result.put("backend", backend.name());
            result.put("device", backend.device());
            result.put("threads", usedThreads);
            result.put("tokens_per_s", results.get(results.size() - 1).get("tokens_per_s"));
            result.put("models", results);
            return result;
        }
    }

    private static List<StepBenchmark.Shape> namedShapes(String names) {
        try {
            return StepBenchmark.shapes(names);
        } catch (IllegalArgumentException e) {
            throw new UsageException("--shape: " + e.getMessage());
        }
    }

    /** One shape per --model, at its --batch (one for all or one each); seqLen -1: the model's context up to 256. */
    private static List<StepBenchmark.Shape> shapes(String models, String batches, int seqLen) {
        String[] modelNames = models.split(",");
        String[] batchList = batches.split(",");
        if (batchList.length != 1 && batchList.length != modelNames.length) {
            throw new UsageException("--batch must be one number or one per --model (" + modelNames.length
                    + "), got '" + batches + "'");
        }
        List<StepBenchmark.Shape> shapes = new ArrayList<>();
        for (int i = 0; i < modelNames.length; i++) {
            String model = modelNames[i].trim();
            shapes.add(new StepBenchmark.Shape(model, model, parseBatch(batchList[batchList.length == 1 ? 0 : i]), seqLen));
        }
        return shapes;
    }

    private static int parseBatch(String value) {
        try {
            int batch = Integer.parseInt(value.trim());
            if (batch >= 1) return batch;
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new UsageException("--batch must be positive whole numbers, got '" + value + "'");
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
