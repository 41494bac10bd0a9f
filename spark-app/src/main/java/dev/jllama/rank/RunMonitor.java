package dev.jllama.rank;

import dev.jllama.model.ModelFlops;
import dev.jllama.model.eval.Perplexity;
import dev.jllama.model.train.StepStats;
import java.awt.AWTError;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.DoubleSupplier;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * What rank 0 does for the people watching a run: a progress message to the driver after every step,
 * {@code metrics.jsonl} and TensorBoard's event file (both written at most every {@link #FLUSH_SECONDS} seconds,
 * at every checkpoint and at the end) and {@code loss.png} (at every checkpoint and at the end), all in the run
 * directory. Writing them is a convenience: a failure is reported and training goes on.
 */
final class RunMonitor {
    private static final Logger LOG = LogManager.getLogger(RunMonitor.class);
    static final double FLUSH_SECONDS = 30;

    /**
     * @param steps           the run's last step
     * @param startStep       the step this attempt starts after (0, or the resumed checkpoint's)
     * @param tokensSeen      training tokens consumed before {@code startStep}
     * @param tokensPerStep   training tokens of one step over all ranks
     * @param checkpointEvery steps between checkpoints (0: only at the end)
     * @param logEvery        steps between progress lines in the executor's log
     */
    record Schedule(int steps, int startStep, long tokensSeen, long tokensPerStep, int checkpointEvery, int logEvery) {}

    /**
     * What MFU needs besides the tokens per second.
     *
     * @param flopsPerToken  model FLOPs of training per token ({@link ModelFlops#perToken})
     * @param worldPeakFlops all ranks' peak FLOP/s together, or null when a backend gives none
     */
    record Utilisation(double flopsPerToken, Double worldPeakFlops) {
        Double at(double tokensPerS) {
            return worldPeakFlops == null ? null : ModelFlops.utilisation(flopsPerToken, tokensPerS, worldPeakFlops);
        }
    }

    private final ProgressSender progress;
    private final MetricsLog metrics;
    /** Null when it could not be opened (reported then). */
    private final TensorBoardLog tensorboard;
    private final Utilisation utilisation;
    private final Configuration conf;
    private final Path picture;
    private final String title;
    private final Schedule schedule;
    private final DoubleSupplier commWaitSeconds;
    private final DoubleSupplier dataWaitSeconds;
    private double commWaitBefore, dataWaitBefore;
    private double firstStepSeconds, laterStepsSeconds;
    private int laterSteps;
    private long lastFlush = System.nanoTime();
    private StepMetrics last;
    private final ExecutorService drawing = Executors.newSingleThreadExecutor(task -> {
        Thread thread = new Thread(task, "jllama-loss-curve");
        thread.setDaemon(true);
        return thread;
    });
    private volatile String drawingFailure;

    /**
     * @param commWaitSeconds rank 0's all-reduce waiting so far
     * @param dataWaitSeconds rank 0's waiting for batches so far
     */
    RunMonitor(ProgressSender progress, MetricsLog metrics, TensorBoardLog tensorboard, String runDir,
               Configuration conf, Schedule schedule, Utilisation utilisation, DoubleSupplier commWaitSeconds,
               DoubleSupplier dataWaitSeconds) {
        this.progress = progress;
        this.metrics = metrics;
        this.tensorboard = tensorboard;
        this.utilisation = utilisation;
        this.conf = conf;
        this.picture = new Path(runDir, LossCurve.FILE);
        this.title = new Path(runDir).getName();
        this.schedule = schedule;
        this.commWaitSeconds = commWaitSeconds;
        this.dataWaitSeconds = dataWaitSeconds;
        this.commWaitBefore = commWaitSeconds.getAsDouble();
        this.dataWaitBefore = dataWaitSeconds.getAsDouble();
    }

    /**
     * After every step of rank 0.
     *
     * @param data with a mixture, per dataset what the whole world has drawn so far ({@link StepMetrics#data})
     */
    void step(StepStats stats, Map<String, Map<String, Object>> data) {
        double commWait = commWaitSeconds.getAsDouble() - commWaitBefore;
        double dataWait = dataWaitSeconds.getAsDouble() - dataWaitBefore;
        commWaitBefore += commWait;
        dataWaitBefore += dataWait;
        long tokens = schedule.tokensSeen() + (stats.step() - schedule.startStep()) * schedule.tokensPerStep();
        last = new StepMetrics(stats.step(), tokens, stats.loss(), stats.lr(), stats.gradNorm(), stats.tokensPerS(),
                utilisation.at(stats.tokensPerS()), Math.max(0, stats.seconds() - commWait - dataWait), commWait,
                dataWait, System.currentTimeMillis() / 1000.0, data);
        metrics.add(last);
        if (tensorboard != null) tensorboard.add(last);

        boolean first = stats.step() == schedule.startStep() + 1;
        if (first) {
            firstStepSeconds = stats.seconds();
        } else {
            laterStepsSeconds += stats.seconds();
            laterSteps++;
        }
        reportDrawingFailure();
        boolean end = stats.step() == schedule.steps();
        boolean logged = first || end || stats.step() % schedule.logEvery() == 0;
        progress.step(new ProgressMessage.Step(last, schedule.steps(), etaSeconds(stats.step())), logged);

        boolean checkpoint = schedule.checkpointEvery() > 0 && stats.step() % schedule.checkpointEvery() == 0;
        if (checkpoint && !end) {
            flushMetrics();
            drawLossCurve();
        } else if ((System.nanoTime() - lastFlush) / 1e9 >= FLUSH_SECONDS) {
            flushMetrics();
        }
    }

    /** Seconds to the last step at the mean time of this attempt's steps, the first (warm-up) left out when it can be. */
    private double etaSeconds(int step) {
        double perStep = laterSteps > 0 ? laterStepsSeconds / laterSteps : firstStepSeconds;
        return (schedule.steps() - step) * perStep;
    }

    /** A validation measured at the last step reached. */
    void validation(Perplexity.Result result) {
        int step = last != null ? last.step() : schedule.startStep();
        long tokens = last != null ? last.tokens() : schedule.tokensSeen();
        MetricsLog.Validation validation = new MetricsLog.Validation(step, tokens, result.meanLoss(),
                result.perplexity(), result.bitsPerByte(), System.currentTimeMillis() / 1000.0);
        metrics.add(validation);
        if (tensorboard != null) tensorboard.add(validation);
    }

    /** At the end of the run: everything into the files. */
    void finish() {
        flushMetrics();
        closeEventFile();
        drawLossCurve();
        drawing.shutdown();
        try {
            if (!drawing.awaitTermination(5, TimeUnit.MINUTES)) LOG.warn("{} still being drawn after 5 minutes", picture);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        reportDrawingFailure();
    }

    private void flushMetrics() {
        lastFlush = System.nanoTime();
        try {
            metrics.flush();
        } catch (IOException | RuntimeException e) {
            warnCannotWrite(metrics.path(), e);
        }
        if (tensorboard == null) return;
        try {
            tensorboard.flush();
        } catch (IOException | RuntimeException e) {
            warnCannotWrite(tensorboard.path(), e);
        }
    }

    /** Closes the event file, also when the attempt fails (a retried attempt starts its own). */
    void closeEventFile() {
        if (tensorboard == null) return;
        try {
            tensorboard.close();
        } catch (IOException | RuntimeException e) {
            warnCannotWrite(tensorboard.path(), e);
        }
    }

    private void warnCannotWrite(String path, Exception e) {
        LOG.warn("cannot write {}", path, e);
        progress.line("warning: cannot write " + path + ": " + e);
    }

    /** Draws the curve of what is recorded so far on the drawing thread: seconds for a long run, not the ranks' time. */
    private void drawLossCurve() {
        reportDrawingFailure();
        List<StepMetrics> steps = List.copyOf(metrics.steps());
        List<MetricsLog.Validation> validations = List.copyOf(metrics.validations());
        drawing.submit(() -> {
            try {
                MetricsLog.replace(picture, LossCurve.png(title, steps, validations), conf);
            } catch (IOException | RuntimeException | AWTError | LinkageError e) { // e.g. a JVM without fonts
                LOG.warn("cannot draw {}", picture, e);
                drawingFailure = "warning: cannot draw " + picture + ": " + e;
            }
        });
    }

    private void reportDrawingFailure() {
        String failure = drawingFailure;
        if (failure != null) {
            drawingFailure = null;
            progress.line(failure);
        }
    }
}
