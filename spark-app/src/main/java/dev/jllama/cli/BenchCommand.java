package dev.jllama.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jllama.collective.AllReduceBench;
import dev.jllama.model.LlamaConfig;
import dev.jllama.model.backend.Backend;
import dev.jllama.model.backend.Precision;
import dev.jllama.model.backend.cpu.CpuBackend;
import dev.jllama.model.backend.cpu.OpenBlasBaseline;
import dev.jllama.model.bench.MatmulBenchmark;
import dev.jllama.model.bench.StepBenchmark;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code llama bench}: throughput of the kernels and of training steps on the chosen backend, and bandwidth of the
 * collective.
 */
@Command(name = "bench", description = "Throughput of the kernels and of training steps on the chosen backend, the"
        + " tokenizer's encoding rate, and bandwidth and scaling of the collective.")
public final class BenchCommand extends LlamaCommand {

    @Option(names = "--what", defaultValue = "step", paramLabel = "KIND", completionCandidates = Kinds.class,
            description = {"what to measure (default: ${DEFAULT-VALUE}):",
                "matmul: GFLOP/s of the three matmul forms at the linear-layer shapes of --model (default 15M) for --batch"
                        + " sequences of its context (default 8), and the matmul kernel that ran; against OpenBLAS alone"
                        + " (one sgemm per product, as many threads as the backend; --no-openblas leaves it out)"
                        + " measured interleaved with ours for --rounds rounds (default 3), and PyTorch on the same shapes"
                        + " with --python",
                "step: training tokens/s (forward, backward, AdamW) of each --model (default tiny,15M) at --batch"
                        + " sequences per step (default 16; one per model, e.g. 16,4,2), random tokens; --profile adds"
                        + " every kernel's time and calls per step; with --python, PyTorch on the same model code, batch"
                        + " and threads after each of --rounds rounds (default 1)",
                "tokenize: the tokenizer's single-threaded encoding MB/s on the bundled corpus (--tokenizer, --input)",
                "allreduce: ring all-reduce between --ranks processes on this machine (default 2, at most 4) over"
                        + " loopback TCP, or with --hosts one per test host, for each of --sizes MiB: algorithm and bus"
                        + " bandwidth in Gbit/s, against a plain single-stream TCP copy placed like ranks 1 and 0",
                "scaling: training step time of --model (default 15M) with --ranks executor JVMs (default 2) of one"
                        + " thread each against one rank of one thread, at --batch x --seq-len per rank (default 4 x"
                        + " 256) on the bundled corpus (or --data); ratio = ranks_s / one_rank_s; with --hosts the"
                        + " executors run one per test host (their standalone cluster, the one rank on one of them)",
                "prepare: end-to-end MB/s of the preparation job (both deduplications on) on generated JSON-lines"
                        + " corpora of --sizes MB (default 100,200,400) with planted copies, after an untimed 20 MB"
                        + " warm-up, on --master (default local-cluster[2,1,3072]: executors in their own JVMs, so the"
                        + " driver's heap is the driver's alone); the driver's peak heap per size and the single-thread"
                        + " tokenizer rate on the same text beside it; corpora and datasets under --work, removed after",
                "perplexity: tokens/s per core of the perplexity signal (prepare's scorer: tokenising, windows,"
                        + " batched forward) against eval's on the same --model (default tiny, random weights), --threads"
                        + " (default 1), windows of --seq-len (default: the model's context, at most 256) and --batch"
                        + " windows per pass (default 16), on 200,000 tokens of documents of 12 bundled-corpus sentences"
                        + " scored in one call; an untimed pass of each, then --rounds interleaved rounds (default 2)",
                "annotate: the preparation job on one generated corpus of --sizes MB (default 20) without and with"
                        + " --annotations (every heuristic signal, the table, the histograms), alternately for --rounds"
                        + " rounds (default 3) after an untimed warm-up of both; the best time of each and their ratio,"
                        + " and each round's ratio, on --master"})
    String what;

    @Option(names = "--model", split = ",", paramLabel = "PRESET", description = "preset(s) to measure (default: per --what)")
    List<String> models;

    @Option(names = "--batch", split = ",", paramLabel = "N", description = "sequences per step; for step one for all"
            + " models or one per --model (default: per --what)")
    @Range(min = 1)
    List<Integer> batches;

    @Option(names = "--seq-len", paramLabel = "N", description = "sequence length (default: the model's context, at"
            + " most 256 for step; 256 for scaling)")
    @Range(min = 1)
    Integer seqLen;

    @Option(names = "--shape", split = ",", paramLabel = "NAME", description = "(step) instead of --model, --batch and"
            + " --seq-len: named shapes of the GPU throughput goals: gpu-15M (15M at 32 x 256), gpu-110M (110M at 16 x"
            + " 1024), gpu-1.1B (1.1B at 4 x 2048)")
    List<String> shapes;

    @Option(names = "--steps", paramLabel = "N", description = "timed repetitions after warm-up (default: 10 for matmul,"
            + " 5 for step, 3 for tokenize, 6 for scaling)")
    @Range(min = 1)
    Integer steps;

    @Option(names = "--rounds", paramLabel = "N", description = "rounds of ours against the baselines (default: 3 for"
            + " matmul and annotate, 2 for perplexity, 1 for step)")
    @Range(min = 1)
    Integer rounds;

    @Option(names = "--profile", description = "(step) the time and calls per step of every kernel and, on a device"
            + " backend, the device executions per step")
    boolean profile;

    @Option(names = "--python", paramLabel = "PATH", description = "the Python with PyTorch for the baselines (default:"
            + " $JLLAMA_HF_PYTHON, else none); runs the project's model/src/test/python scripts")
    String python;

    @Option(names = "--no-openblas", description = "(matmul) leave out the OpenBLAS baseline")
    boolean noOpenblas;

    @Mixin
    BackendOptions backend;

    @Option(names = "--ranks", paramLabel = "N", description = "ranks (default 2; at most 4 for allreduce)")
    @Range(min = 2)
    Integer ranks;

    @Option(names = "--hosts", paramLabel = "N", description = "(allreduce, scaling) run the ranks on N test hosts,"
            + " one each, made by submit/cluster/test-hosts.sh (network namespaces: needs root) and taken down after"
            + " unless they were up already; instead of --ranks")
    @Range(min = 2, max = 4)
    Integer hosts;

    @Option(names = "--link-gbps", paramLabel = "X", description = "(with --hosts) the rate of every test host's link,"
            + " each way, in Gbit/s (default 1)")
    @Range(min = 0.01, max = 100)
    Double linkGbps;

    @Option(names = "--sizes", split = ",", paramLabel = "N", description = "(allreduce) message sizes in MiB (default:"
            + " 1,4,16,64,256); (prepare) corpus sizes in MB (default: 100,200,400); (annotate) one corpus size in MB"
            + " (default: 20)")
    @Range(min = 1, max = 1024)
    List<Integer> sizes;

    @Option(names = "--data", paramLabel = "SPEC", description = "(scaling) the dataset (default: the bundled corpus)")
    String data;

    @Option(names = "--tokenizer", paramLabel = "FILE", description = "(tokenize) SentencePiece model (default: the bundled one)")
    String tokenizer;

    @Option(names = "--input", paramLabel = "FILE", description = "(tokenize) text to encode (default: the bundled corpus)")
    String input;

    @Option(names = "--master", defaultValue = "local-cluster[2,1,3072]", paramLabel = "URL",
            description = "(prepare, annotate) Spark master (default: ${DEFAULT-VALUE})")
    String master;

    @Option(names = "--no-stage-tokens", description = "(prepare, annotate) run the preparation job with"
            + " --no-stage-tokens: tokens counted only as written")
    boolean noStageTokens;

    @Option(names = "--work", defaultValue = "runs/bench-prepare", paramLabel = "DIR",
            description = "(prepare, annotate) where the generated corpora and datasets go (default: ${DEFAULT-VALUE})")
    String work;

    /** The options each kind of benchmark reads, besides --what, --json and --verbose. */
    private static final Map<String, List<String>> OPTIONS = Map.of(
            "matmul", List.of("--model", "--batch", "--seq-len", "--steps", "--rounds", "--no-openblas", "--backend",
                    "--device", "--threads", "--precision", "--python"),
            "step", List.of("--shape", "--model", "--batch", "--seq-len", "--steps", "--rounds", "--profile",
                    "--backend", "--device", "--threads", "--precision", "--python"),
            "tokenize", List.of("--tokenizer", "--input", "--steps"),
            "allreduce", List.of("--ranks", "--sizes", "--hosts", "--link-gbps"),
            "scaling", List.of("--model", "--batch", "--seq-len", "--steps", "--ranks", "--data", "--hosts",
                    "--link-gbps"),
            "prepare", List.of("--sizes", "--master", "--work", "--no-stage-tokens"),
            "annotate", List.of("--sizes", "--master", "--work", "--no-stage-tokens", "--rounds"),
            "perplexity", List.of("--model", "--batch", "--seq-len", "--rounds", "--threads"));

    static final class Kinds extends ArrayList<String> {
        Kinds() {
            super(List.of("matmul", "step", "tokenize", "allreduce", "scaling", "prepare", "annotate", "perplexity"));
        }
    }

    @Override
    void validate() {
        List<String> accepted = OPTIONS.get(what);
        for (var option : spec.commandLine().getParseResult().matchedOptions()) {
            String name = option.longestName();
            if (!accepted.contains(name) && !List.of("--what", "--json", "--verbose").contains(name)) {
                throw new UsageException(name + " does not apply to --what " + what + " (it takes " + String.join(", ",
                        accepted) + ")");
            }
        }
        if (what.equals("allreduce") && ranks != null && ranks > 4) {
            throw new UsageException("--ranks must be from 2 to 4 for --what allreduce, got " + ranks);
        }
        if (hosts != null && ranks != null) {
            throw new UsageException("--hosts places one rank on each test host: give --hosts or --ranks, not both");
        }
        if (linkGbps != null && hosts == null) throw new UsageException("--link-gbps applies to test hosts: add --hosts N");
        if (shapes != null && (models != null || batches != null || seqLen != null)) {
            throw new UsageException("--shape names the model, batch and sequence length: give it without --model,"
                    + " --batch and --seq-len");
        }
    }

    @Override
    public Map<String, Object> run(PrintStream out) throws Exception {
        return switch (what) {
            case "matmul" -> matmul(out);
            case "step" -> step(out);
            case "tokenize" -> TokenizeBenchmark.run(tokenizer, input, steps == null ? 3 : steps, out);
            case "allreduce" -> allReduce(out);
            case "prepare" -> PrepareBenchmark.run(sizes == null ? List.of(100, 200, 400) : sizes, master, work, !noStageTokens,
                    out);
            case "perplexity" -> dev.jllama.scoring.PerplexityBenchmark.run(oneModel("tiny"), seqLen, oneBatch(16),
                    or(rounds, 2), or(backend.threads, 1), 200_000, out);
            case "annotate" -> {
                if (sizes != null && sizes.size() != 1) throw new UsageException("--what annotate takes one --sizes, got " + sizes);
                yield PrepareBenchmark.annotate(sizes == null ? 20 : sizes.getFirst(), or(rounds, 3), master, work,
                        !noStageTokens, out);
            }
            default -> scaling(out);
        };
    }

    private static <T> T or(T value, T fallback) {
        return value != null ? value : fallback;
    }

    /** The one --model of matmul and scaling. */
    private String oneModel(String fallback) {
        if (models == null) return fallback;
        if (models.size() != 1) throw new UsageException("--what " + what + " takes one --model, got " + models);
        return models.get(0);
    }

    /** The one --batch of matmul and scaling. */
    private int oneBatch(int fallback) {
        if (batches == null) return fallback;
        if (batches.size() != 1) throw new UsageException("--what " + what + " takes one --batch, got " + batches);
        return batches.get(0);
    }

    /** Data-parallel overhead: the same per-rank step with one rank and with several, each in its own JVM. */
    private Map<String, Object> scaling(PrintStream out) throws Exception {
        String model = oneModel("15M");
        int batch = oneBatch(4);
        int seqLen = or(this.seqLen, 256);
        int steps = or(this.steps, 6);
        int ranks = hosts != null ? hosts : or(this.ranks, 2);
        double one, many, exposed;
        try (TestHostsScript testHosts = hosts == null ? null
                : TestHostsScript.up(hosts, linkGbps(), true, List.of("--worker-memory", "3g"), out)) {
            List<String> conf = testHosts == null ? List.of() : TestHostsScript.driverConf("2g");
            one = stepSeconds(1, testHosts == null ? "local-cluster[1,1,2048]" : testHosts.masterUrl(), conf, model,
                    batch, seqLen, steps, data, out).get("step_s");
            Map<String, Double> multi = stepSeconds(ranks, testHosts == null ? "local-cluster[" + ranks + ",1,2048]"
                    : testHosts.masterUrl(), conf, model, batch, seqLen, steps, data, out);
            many = multi.get("step_s");
            exposed = multi.get("comm_wait_s") / (steps + 1);
        }
        out.printf("step time, %s at %d x %d per rank: 1 rank %.3f s, %d ranks %.3f s (%s, 1 thread each):"
                + " %.3fx; rank 0 waited %.3f s per step for gradients after its backward pass%n",
                model, batch, seqLen, one, ranks, many, hosts == null ? "separate JVMs on this machine"
                        : "one per test host, links of " + linkGbps() + " Gbit/s", many / one, exposed);
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("model", model);
        result.put("batch_per_rank", batch);
        result.put("seq_len", seqLen);
        result.put("ranks", ranks);
        if (hosts != null) {
            result.put("hosts", hosts);
            result.put("link_gbps", linkGbps());
        }
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
    private static Map<String, Double> stepSeconds(int ranks, String master, List<String> conf, String model, int batch,
                                                   int seqLen, int steps, String data, PrintStream out) throws Exception {
        List<String> argv = new ArrayList<>(List.of("--model", model, "--micro-batch", Integer.toString(batch),
                "--seq-len", Integer.toString(seqLen), "--steps", Integer.toString(steps + 1), "--ranks",
                Integer.toString(ranks), "--threads", "1", "--backend", "cpu", "--checkpoint-every", "0",
                "--eval-batches", "0", "--log-every", "1", "--master", master,
                "--out", Path.of("runs", "bench-scaling", ranks + "-ranks").toString(),
                "--overwrite")); // the last run's final checkpoint is no reason to stop
        if (!master.startsWith("local")) argv.addAll(List.of("--conf", "spark.cores.max=" + ranks));
        for (String kv : conf) argv.addAll(List.of("--conf", kv));
        if (data != null) argv.addAll(List.of("--data", data));
        Map<String, Object> result = TrainCommand.runWith(argv, out);
        double step = ((Number) result.get("tokens_per_step")).doubleValue()
                / ((Number) result.get("tokens_per_s")).doubleValue();
        double wait = ((Number) ((List<?>) result.get("comm_wait_s")).get(0)).doubleValue();
        return Map.of("step_s", step, "comm_wait_s", wait);
    }

    private Map<String, Object> matmul(PrintStream out) throws Exception {
        String modelName = oneModel("15M");
        int batch = oneBatch(8);
        int reps = or(steps, 10);
        int rounds = or(this.rounds, 3);
        boolean openblas = !noOpenblas;
        PythonBaseline python = PythonBaseline.find(this.python);
        LlamaConfig config = LlamaConfig.resolve(modelName);
        int rows = batch * (seqLen != null ? seqLen : config.maxSeqLen());
        Precision precision = this.backend.precision();
        try (Backend backend = this.backend.create(precision)) {
            int usedThreads = this.backend.threadsOf(backend);
            OpenBlasBaseline baseline = openblas ? OpenBlasBaseline.create(usedThreads, precision) : null;
            out.printf("matmul on %s (%s), model %s, %d rows, %d rounds of %d%n", backend.name(), backend.device(),
                    modelName, rows, rounds, reps);
            if (baseline != null) {
                out.printf("against OpenBLAS alone: %s (one call per product), measured interleaved with ours;"
                        + " a round is its median repetition%n",
                        baseline.describe());
            } else if (openblas) {
                out.printf("no OpenBLAS baseline: %s%n", OpenBlasBaseline.unavailableReason(precision));
            }
            List<MatmulBenchmark.Result> results = MatmulBenchmark.run(backend, config, rows, reps, baseline, rounds);
            JsonNode torch = null;
            if (python != null) {
                out.println("PyTorch, same shapes and forms (after ours):");
                torch = python.run("bench_matmul.py", List.of("--library", "torch", "--model", modelName,
                        "--rows", Integer.toString(rows), "--steps", Integer.toString(reps),
                        "--rounds", Integer.toString(rounds), "--threads", Integer.toString(usedThreads),
                        "--precision", precision.label()), out);
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
            result.put("precision", precision.label());
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

    private Map<String, Object> step(PrintStream out) throws Exception {
        String shapeNames = shapes == null ? null : String.join(",", shapes);
        int reps = or(steps, 5);
        int rounds = or(this.rounds, 1);
        PythonBaseline python = PythonBaseline.find(this.python);
        List<StepBenchmark.Shape> shapes = shapeNames != null ? namedShapes(shapeNames)
                : shapes(or(models, List.of("tiny", "15M")), or(batches, List.of(16)), seqLen == null ? -1 : seqLen);
        List<Map<String, Object>> results = new ArrayList<>();
        Precision precision = this.backend.precision();
        // A reduced precision is measured against the same backend in fp32, round by round in the same run.
        try (Backend backend = this.backend.create(precision);
             Backend fp32 = precision == Precision.FP32 ? null : this.backend.create(Precision.FP32)) {
            int usedThreads = this.backend.threadsOf(backend);
            for (StepBenchmark.Shape shape : shapes) {
                String modelName = shape.model();
                int batch = shape.batch();
                LlamaConfig config = LlamaConfig.resolve(modelName);
                int seqLen = shape.seqLen() > 0 ? shape.seqLen() : Math.min(config.maxSeqLen(), 256);
                double[] ours = new double[rounds], torch = new double[python == null ? 0 : rounds];
                double[] ourFp32 = new double[fp32 == null ? 0 : rounds];
                StepBenchmark.Result r = null;
                for (int round = 0; round < rounds; round++) {
                    r = StepBenchmark.run(backend, config, batch, seqLen, reps, profile);
                    ours[round] = r.tokensPerS();
                    out.printf("%-5s %,12d params | batch %d x %d | %,10.0f tokens/s | MFU %s | %.3f s/step | activations"
                                    + " %.1f MiB | %s (%s)%n", modelName, r.parameters(), batch, seqLen,
                            r.tokensPerS(), r.mfu() == null ? "-" : String.format("%.1f%%", 100 * r.mfu()),
                            r.secondsPerStep(), r.activationBytes() / 1048576.0, backend.name(), backend.device());
                    if (r.deviceBytesReserved() >= 0) {
                        out.printf("      device memory: %.0f MiB in use of %.0f MiB reserved%n",
                                r.deviceBytesInUse() / 1048576.0, r.deviceBytesReserved() / 1048576.0);
                    }
                    if (profile) printProfile(out, r, reps);
                    if (fp32 != null) {
                        ourFp32[round] = StepBenchmark.run(fp32, config, batch, seqLen, reps, false).tokensPerS();
                        out.printf("      ours in fp32: %,10.0f tokens/s | %s / fp32: %.2f%n", ourFp32[round],
                                precision.label(), ours[round] / ourFp32[round]);
                    }
                    if (python != null) {
                        JsonNode t = python.run("bench_torch.py", List.of("--model", modelName,
                                "--batch", Integer.toString(batch), "--seq-len", Integer.toString(seqLen),
                                "--steps", Integer.toString(reps), "--threads", Integer.toString(usedThreads),
                                "--precision", precision.label()), out);
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
                m.put("mfu", r.mfuAt(MatmulBenchmark.median(ours)));
                m.put("peak_flops", r.peakFlops());
                m.put("seconds_per_step", r.secondsPerStep());
                m.put("activation_bytes", r.activationBytes());
                m.put("loss", r.loss());
                if (r.executionsPerStep() >= 0) m.put("executions_per_step", r.executionsPerStep());
                if (r.deviceBytesReserved() >= 0) {
                    m.put("device_bytes_in_use", r.deviceBytesInUse());
                    m.put("device_bytes_reserved", r.deviceBytesReserved());
                }
                if (fp32 != null) {
                    double[] ratios = new double[rounds];
                    for (int round = 0; round < rounds; round++) ratios[round] = ours[round] / ourFp32[round];
                    Arrays.sort(ratios);
                    m.put("fp32_tokens_per_s_per_round", ourFp32);
                    m.put("over_fp32_per_round", ratios);
                    if (rounds > 1) out.printf("%-5s %s / fp32 over %d rounds: %s%n", modelName, precision.label(),
                            rounds, spread(ratios));
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
            result.put("precision", precision.label());
            result.put("backend", backend.name());
            result.put("device", backend.device());
            result.put("threads", usedThreads);
            result.put("tokens_per_s", results.get(results.size() - 1).get("tokens_per_s"));
            result.put("mfu", results.get(results.size() - 1).get("mfu"));
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
    private static List<StepBenchmark.Shape> shapes(List<String> models, List<Integer> batches, int seqLen) {
        if (batches.size() != 1 && batches.size() != models.size()) {
            throw new UsageException("--batch must be one number or one per --model (" + models.size() + "), got "
                    + batches);
        }
        List<StepBenchmark.Shape> shapes = new ArrayList<>();
        for (int i = 0; i < models.size(); i++) {
            String model = models.get(i).trim();
            shapes.add(new StepBenchmark.Shape(model, model, batches.get(batches.size() == 1 ? 0 : i), seqLen));
        }
        return shapes;
    }

    private double linkGbps() {
        return or(linkGbps, 1.0);
    }

    private Map<String, Object> allReduce(PrintStream out) throws Exception {
        List<Integer> sizes = or(this.sizes, List.of(1, 4, 16, 64, 256));
        if (hosts == null) {
            int ranks = or(this.ranks, 2);
            int cores = Runtime.getRuntime().availableProcessors();
            out.printf("all-reduce between %d rank processes over loopback TCP (%d cores)%n", ranks, cores);
            AllReduceBench.Result result = AllReduceBench.run(Collections.nCopies(ranks, AllReduceBench.Place.LOOPBACK),
                    sizes);
            // On loopback every rank sends and receives each byte through the same cores, so with as many ranks as
            // cores (or more) the ring gets about half of what one stream between two processes gets.
            double bound = ranks >= cores ? result.tcpGbps() / 2 : result.tcpGbps();
            out.printf("bound: %s%n", ranks >= cores ? String.format("half of one TCP stream (%.2f Gbit/s): %d ranks"
                    + " on %d cores each send and receive every byte through the same cores", bound, ranks, cores)
                    : "one TCP stream");
            return allReduceReport(result, bound, "loopback", out);
        }
        out.printf("all-reduce between %d rank processes, one per test host, links of %s Gbit/s each way%n", hosts,
                linkGbps());
        try (TestHostsScript testHosts = TestHostsScript.up(hosts, linkGbps(), false, List.of(), out)) {
            List<AllReduceBench.Place> places = testHosts.hosts().stream()
                    .map(h -> new AllReduceBench.Place(h.commandPrefix(), h.address())).toList();
            AllReduceBench.Result result = AllReduceBench.run(places, sizes);
            out.printf("bound: one TCP stream host to host through the same links (%.2f Gbit/s)%n", result.tcpGbps());
            Map<String, Object> json = allReduceReport(result, result.tcpGbps(), "test hosts", out);
            json.put("hosts", hosts);
            json.put("link_gbps", linkGbps());
            return json;
        }
    }

    /** Prints the table and returns the JSON result (rates in Gbit/s). */
    private static Map<String, Object> allReduceReport(AllReduceBench.Result result, double bound, String network,
                                                       PrintStream out) {
        out.printf("single-stream TCP copy (%s): %.2f Gbit/s%n", network, result.tcpGbps());
        out.printf("%8s %6s %12s %14s %14s %10s%n", "MiB", "reps", "ms/op (med)", "algbw Gbit/s", "busbw Gbit/s",
                "busbw/tcp");
        List<Map<String, Object>> rows = new ArrayList<>();
        for (AllReduceBench.SizeResult size : result.sizes()) {
            double ratio = size.busbwGbps() / result.tcpGbps();
            out.printf("%8d %6d %12.2f %14.3f %14.3f %10.2f%n", size.mib(), size.repetitions(),
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
        json.put("ranks", result.ranks());
        json.put("network", network);
        json.put("tcp_gbps", result.tcpGbps());
        json.put("bound_gbps", bound);
        json.put("sizes", rows);
        return json;
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
