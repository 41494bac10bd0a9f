package dev.jllama.model.bench;

import dev.jllama.model.Initializer;
import dev.jllama.model.LlamaConfig;
import dev.jllama.model.LlamaModel;
import dev.jllama.model.ModelFlops;
import dev.jllama.model.backend.Backend;
import dev.jllama.model.backend.KernelProfiler;
import dev.jllama.model.backend.PeakFlops;
import dev.jllama.model.optim.AdamW;
import dev.jllama.model.train.StepStats;
import dev.jllama.model.train.TrainOptions;
import dev.jllama.model.train.LocalSync;
import dev.jllama.model.train.Trainer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Training throughput: forward, backward and clipped AdamW steps of a model on random tokens. */
public final class StepBenchmark {
    private StepBenchmark() {}

    /** A training step's shape by name: a model preset at a batch of {@code batch} sequences of {@code seqLen}. */
    public record Shape(String name, String model, int batch, int seqLen) {}

    /** The shapes of the GPU throughput goals, by name: {@code gpu-15M}, {@code gpu-110M}, {@code gpu-1.1B}. */
    public static final Map<String, Shape> SHAPES = shapes(
            new Shape("gpu-15M", "15M", 32, 256),
            new Shape("gpu-110M", "110M", 16, 1024),
            new Shape("gpu-1.1B", "1.1B", 4, 2048));

    private static Map<String, Shape> shapes(Shape... shapes) {
        Map<String, Shape> byName = new LinkedHashMap<>();
        for (Shape s : shapes) byName.put(s.name(), s);
        return Collections.unmodifiableMap(byName);
    }

    /** The shapes named in {@code names} (separated by commas), in that order. */
    public static List<Shape> shapes(String names) {
        List<Shape> shapes = new ArrayList<>();
        for (String name : names.split(",")) {
            Shape shape = SHAPES.get(name.trim());
            if (shape == null) {
                throw new IllegalArgumentException("unknown shape '" + name.trim() + "': the shapes are "
                        + String.join(", ", SHAPES.keySet()));
            }
            shapes.add(shape);
        }
        return shapes;
    }

    /**
     * @param executionsPerStep device executions per timed step ({@link Backend#executions()}), or -1 when the
     *        backend has none
     * @param profile kernel name to {seconds, calls} over the timed steps, or null when not profiled
     * @param deviceBytesInUse device memory the model, its optimizer state and activations occupy after the timed
     *        steps ({@link Backend#deviceBytesInUse()}), or -1 when the backend has none
     * @param deviceBytesReserved device memory the backend holds ({@link Backend#deviceBytesReserved()}), or -1
     * @param flopsPerToken model FLOPs of training per token ({@link ModelFlops#perToken})
     * @param peakFlops the backend's peak FLOP/s ({@link Backend#peakFlops()}), or null when it has none
     */
    public record Result(long parameters, int batch, int seqLen, double tokensPerS, double secondsPerStep,
                         double warmupSeconds, long activationBytes, double loss, double executionsPerStep,
                         Map<String, double[]> profile, long deviceBytesInUse, long deviceBytesReserved,
                         double flopsPerToken, Double peakFlops) {

        /** Model FLOPs utilisation of the timed steps, or null without a peak. */
        public Double mfu() {
            return mfuAt(tokensPerS);
        }

        /** Model FLOPs utilisation at {@code tokensPerS} (e.g. the median of several rounds), or null without a peak. */
        public Double mfuAt(double tokensPerS) {
            return peakFlops == null ? null : ModelFlops.utilisation(flopsPerToken, tokensPerS, peakFlops);
        }
    }

    /** One untimed warm-up step (JIT, kernel compilation, first touch), then {@code reps} timed steps. */
    public static Result run(Backend backend, LlamaConfig config, int batch, int seqLen, int reps, boolean profile)
            throws Exception {
        KernelProfiler profiler = profile ? new KernelProfiler(backend) : null;
        Backend used = profile ? profiler.backend() : backend;
        TrainOptions options = new TrainOptions(reps + 1, seqLen, batch, 1, 1e-4, 1, 0.1, 0, 1, 1);
        try (LlamaModel model = new LlamaModel(config, used);
             AdamW optimizer = new AdamW(used, model.parameters(), AdamW.Hyper.LLAMA)) {
            Initializer.initialize(model, 1);
            Trainer trainer = new Trainer(model, new LocalSync(optimizer), options);
            RandomTokens source = new RandomTokens(config.vocabSize(), seqLen, 7);
            double warmup = trainer.step(0, source).seconds();
            if (profile) profiler.reset();
            long executionsBefore = backend.executions();
            double seconds = 0;
            double loss = 0;
            for (int s = 1; s <= reps; s++) {
                StepStats stats = trainer.step(s, source);
                seconds += stats.seconds();
                loss = stats.loss();
            }
            return new Result(model.parameters().count(), batch, seqLen, options.tokensPerStep() * reps / seconds,
                    seconds / reps, warmup, model.activations(batch, seqLen).bytes(), loss,
                    executionsBefore < 0 ? -1 : (double) (backend.executions() - executionsBefore) / reps,
                    profile ? profiler.totals() : null, backend.deviceBytesInUse(), backend.deviceBytesReserved(),
                    ModelFlops.perToken(config, seqLen),
                    backend.peakFlops().map(PeakFlops::flopsPerSecond).orElse(null));
        }
    }
}
