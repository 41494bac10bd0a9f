package dev.jllama.cli;

import dev.jllama.model.Initializer;
import dev.jllama.model.LlamaConfig;
import dev.jllama.model.LlamaModel;
import dev.jllama.model.backend.Backend;
import dev.jllama.model.backend.Backends;
import dev.jllama.model.backend.Tensor;
import dev.jllama.model.optim.AdamW;
import dev.jllama.model.train.BatchSource;
import dev.jllama.model.train.StepStats;
import dev.jllama.model.train.TrainOptions;
import dev.jllama.model.train.Trainer;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

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
                            [--steps N] [--backend auto|cpu|tornado] [--device N] [--threads N] [--json]
                  --what matmul    GFLOP/s of the three matmul forms at the linear-layer shapes of --model (default 15M)
                                   for --batch sequences of its context (default 8)
                  --what step      training tokens/s (forward, backward, AdamW) of each --model (default tiny,15M)
                                   at --batch sequences per step (default 16), random tokens
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

    private record Shape(String layer, int in, int out) {}

    private Map<String, Object> matmul(Args args, PrintStream out) throws Exception {
        String modelName = args.string("model", "15M");
        int batch = args.integer("batch", 8);
        int seqArg = args.integer("seq-len", -1);
        int reps = args.integer("steps", 10);
        String backendName = args.string("backend", "auto");
        int device = args.integer("device", -1);
        int threads = args.integer("threads", 0);
        args.checkAllUsed();
        LlamaConfig c = LlamaConfig.resolve(modelName);
        int seqLen = seqArg > 0 ? seqArg : c.maxSeqLen();
        int rows = batch * seqLen;
        List<Shape> shapes = List.of(
                new Shape("attention.wq/wo", c.dim(), c.dim()),
                new Shape("attention.wk/wv", c.dim(), c.kvDim()),
                new Shape("feed_forward.w1/w3", c.dim(), c.hiddenDim()),
                new Shape("feed_forward.w2", c.hiddenDim(), c.dim()),
                new Shape("output (256-row chunk)", c.dim(), c.vocabSize()));
        List<Map<String, Object>> results = new ArrayList<>();
        double totalFlops = 0, totalSeconds = 0;
        try (Backend backend = Backends.create(backendName, device, threads)) {
            out.printf("matmul on %s (%s), model %s, %d rows%n", backend.name(), backend.device(), modelName, rows);
            for (Shape shape : shapes) {
                int m = shape.layer().startsWith("output") ? Math.min(rows, 256) : rows;
                Tensor x = randomTensor(backend, "x", m * shape.in(), 1);
                Tensor w = randomTensor(backend, "w", shape.out() * shape.in(), 2);
                Tensor y = randomTensor(backend, "y", m * shape.out(), 3);
                Tensor dx = backend.allocate("dx", m * shape.in());
                Tensor dw = backend.allocate("dw", shape.out() * shape.in());
                double flops = 2.0 * m * shape.in() * shape.out();
                for (String form : List.of("forward", "backward-input", "backward-weight")) {
                    Runnable op = switch (form) {
                        case "forward" -> () -> backend.matmul(y, x, w, m, shape.in(), shape.out());
                        case "backward-input" -> () -> backend.matmulBackwardInput(dx, y, w, m, shape.in(), shape.out(), false);
                        default -> () -> backend.matmulBackwardWeight(dw, y, x, m, shape.in(), shape.out());
                    };
                    for (int i = 0; i < 3; i++) op.run(); // warm-up: JIT compilation, first touch
                    backend.sum(y, 1); // waits for queued work on asynchronous backends
                    long start = System.nanoTime();
                    for (int i = 0; i < reps; i++) op.run();
                    backend.sum(dw, 1);
                    double seconds = (System.nanoTime() - start) / 1e9;
                    double gflops = flops * reps / seconds / 1e9;
                    totalFlops += flops * reps;
                    totalSeconds += seconds;
                    out.printf("  %-24s %-16s [%d x %d] x [%d x %d]^T  %8.1f GFLOP/s%n",
                            shape.layer(), form, m, shape.in(), shape.out(), shape.in(), gflops);
                    Map<String, Object> r = new LinkedHashMap<>();
                    r.put("layer", shape.layer());
                    r.put("form", form);
                    r.put("m", m);
                    r.put("k", shape.in());
                    r.put("n", shape.out());
                    r.put("gflops", gflops);
                    results.add(r);
                }
                for (Tensor t : List.of(x, w, y, dx, dw)) backend.free(t);
            }
            double overall = totalFlops / totalSeconds / 1e9;
            out.printf("overall %.1f GFLOP/s%n", overall);
            Map<String, Object> result = new LinkedHashMap<>();
            result.put("what", "matmul");
            result.put("backend", backend.name());
            result.put("device", backend.device());
            result.put("gflops", overall);
            result.put("shapes", results);
            return result;
        }
    }

    private static Tensor randomTensor(Backend backend, String name, int size, long seed) {
        float[] values = new float[size];
        SplittableRandom random = new SplittableRandom(seed);
        for (int i = 0; i < size; i++) values[i] = (float) (random.nextDouble() * 2 - 1);
        Tensor t = backend.allocate(name, size);
        backend.write(t, 0, values, 0, size);
        return t;
    }

    private Map<String, Object> step(Args args, PrintStream out) throws Exception {
        String models = args.string("model", "tiny,15M");
        int batch = args.integer("batch", 16);
        int seqArg = args.integer("seq-len", -1);
        int reps = args.integer("steps", 5);
        String backendName = args.string("backend", "auto");
        int device = args.integer("device", -1);
        int threads = args.integer("threads", 0);
        args.checkAllUsed();
        List<Map<String, Object>> results = new ArrayList<>();
        try (Backend backend = Backends.create(backendName, device, threads)) {
            for (String modelName : models.split(",")) {
                LlamaConfig config = LlamaConfig.resolve(modelName.trim());
                int seqLen = seqArg > 0 ? seqArg : Math.min(config.maxSeqLen(), 256);
                TrainOptions options = new TrainOptions(reps + 1, seqLen, batch, 1, 1e-4, 1, 0.1, 0, 1, 1, 1);
                try (LlamaModel model = new LlamaModel(config, backend);
                     AdamW optimizer = new AdamW(backend, model.parameters(), AdamW.Hyper.LLAMA)) {
                    Initializer.initialize(model, 1);
                    Trainer trainer = new Trainer(model, optimizer, options);
                    BatchSource source = randomTokens(config.vocabSize(), seqLen);
                    trainer.step(0, source); // warm-up: JIT, first-touch memory, kernel compilation
                    double seconds = 0;
                    double loss = 0;
                    for (int s = 1; s <= reps; s++) {
                        StepStats stats = trainer.step(s, source);
                        seconds += stats.seconds();
                        loss = stats.loss();
                    }
                    double tokensPerS = options.tokensPerStep() * reps / seconds;
                    long activationBytes = model.activations(batch, seqLen).bytes();
                    out.printf("%-5s %,12d params | batch %d x %d | %,10.0f tokens/s | %.3f s/step | activations %.1f MiB"
                                    + " | %s (%s)%n", modelName, model.parameters().count(), batch, seqLen, tokensPerS,
                            seconds / reps, activationBytes / 1048576.0, backend.name(), backend.device());
                    Map<String, Object> r = new LinkedHashMap<>();
                    r.put("model", modelName);
                    r.put("parameters", model.parameters().count());
                    r.put("batch", batch);
                    r.put("seq_len", seqLen);
                    r.put("tokens_per_s", tokensPerS);
                    r.put("seconds_per_step", seconds / reps);
                    r.put("activation_bytes", activationBytes);
                    r.put("loss", loss);
                    results.add(r);
                }
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

    /** Uniform random tokens: throughput does not depend on the text. */
    private static BatchSource randomTokens(int vocab, int seqLen) {
        SplittableRandom random = new SplittableRandom(7);
        return new BatchSource() {
            @Override
            public void next(int[] dst, int windows) {
                for (int i = 0; i < windows * (seqLen + 1); i++) dst[i] = random.nextInt(vocab);
            }

            @Override
            public String position() {
                return "random";
            }
        };
    }
}
