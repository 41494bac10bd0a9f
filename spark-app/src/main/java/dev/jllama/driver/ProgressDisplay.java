package dev.jllama.driver;

import dev.jllama.model.checkpoint.CheckpointStore;
import dev.jllama.rank.ProgressMessage;
import dev.jllama.rank.StepMetrics;
import dev.jllama.rank.TrainPlan;
import java.io.Console;
import java.io.IOException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.Optional;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarConsumer;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/**
 * How the driver shows rank 0's progress messages: on a terminal, a progress bar with the step's loss, learning
 * rate, gradient norm, throughput, MFU (when the backend has a peak) and time split, text lines scrolling above it; otherwise (a log file, a pipe, a
 * test) plain lines, a step line every {@code logEvery} steps and at the first and last step.
 */
abstract sealed class ProgressDisplay implements AutoCloseable {

    /** A bar when {@code out} is this process's standard output and that is a terminal; plain lines otherwise. */
    static ProgressDisplay forOutput(PrintStream out, int logEvery) {
        Console console = System.console();
        boolean terminal = out == System.out && console != null && console.isTerminal();
        return terminal && terminalLibraryPresent() ? new Bar(out) : new Lines(out, logEvery);
    }

    /** The bar measures the terminal with JLine, which the application jar leaves to Spark's distribution. */
    private static boolean terminalLibraryPresent() {
        try {
            Class.forName("org.jline.terminal.TerminalBuilder", false, ProgressDisplay.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException e) {
            return false;
        }
    }

    abstract void show(ProgressMessage message);

    /** A line of the driver's own, above the bar when there is one. */
    void line(String text) {
        show(new ProgressMessage.Text(text));
    }

    /**
     * The description of the training job on Spark's UI: the run directory, its steps and ranks, where it starts.
     * Spark fixes a job's description when the job is submitted, and one barrier job runs the whole training, so
     * the live step is on the driver's display and in {@code metrics.jsonl}, not in the UI.
     */
    static String jobDescription(TrainPlan plan, int ranks, Configuration hadoop) {
        String runDir = new Path(plan.checkpoints()).getParent().toString();
        String start = "from step 0";
        if (plan.resume()) {
            try {
                start = new CheckpointStore(plan.checkpoints(), hadoop).latest()
                        .map(checkpoint -> "resuming from " + checkpoint.getName())
                        .orElse("from step 0 (no checkpoint to resume from)");
            } catch (IOException e) {
                start = "resuming from the newest complete checkpoint";
            }
        }
        return String.format("jllama train %s: %d steps on %d rank%s, %s", runDir, plan.trainOptions().steps(), ranks,
                ranks == 1 ? "" : "s", start);
    }

    @Override
    public abstract void close();

    /** Plain lines. */
    static final class Lines extends ProgressDisplay {
        private final PrintStream out;
        private final int logEvery;
        private int lastShown = -1;

        Lines(PrintStream out, int logEvery) {
            this.out = out;
            this.logEvery = logEvery;
        }

        @Override
        synchronized void show(ProgressMessage message) {
            switch (message) {
                case ProgressMessage.Text t -> out.println(t.text());
                case ProgressMessage.Step s -> {
                    int step = s.metrics().step();
                    // The first step of an attempt (lastShown is behind it), every logEvery-th, the last.
                    if (step <= lastShown || lastShown < 0 || step % logEvery == 0 || step == s.steps()) {
                        out.println(s.plainLine());
                    }
                    lastShown = step;
                }
            }
        }

        @Override
        public void close() {}
    }

    /** A progress bar on a terminal (me.tongfei:progressbar), redrawn in place. */
    static final class Bar extends ProgressDisplay {
        private final PrintStream out;
        private final LineAboveBar consumer;
        private ProgressBar bar;
        private volatile double etaSeconds = Double.NaN;

        Bar(PrintStream out) {
            this.out = out;
            this.consumer = new LineAboveBar(new ConsoleProgressBarConsumer(out), out);
        }

        @Override
        synchronized void show(ProgressMessage message) {
            switch (message) {
                case ProgressMessage.Text t -> consumer.lineAbove(t.text());
                case ProgressMessage.Step s -> {
                    StepMetrics m = s.metrics();
                    etaSeconds = s.etaSeconds();
                    if (bar == null || m.step() <= bar.getCurrent()) { // the first step, or a retried stage's
                        if (bar != null) bar.close();
                        bar = new ProgressBarBuilder().setTaskName("train").setInitialMax(s.steps())
                                .startsFrom(m.step() - 1, Duration.ZERO).setUpdateIntervalMillis(500)
                                .setConsumer(consumer).setEtaFunction(state -> eta()).build();
                    }
                    bar.setExtraMessage(metricsText(m));
                    bar.stepTo(m.step());
                }
            }
        }

        /** The step's metrics after the bar, most telling first: a narrow terminal cuts the line at its right edge. */
        static String metricsText(StepMetrics m) {
            return String.format("loss %.4f | lr %.2e | gnorm %.3f | %,.0f tok/s%s | compute/comm/data %.2f/%.2f/%.2f s",
                    m.loss(), m.lr(), m.gradNorm(), m.tokensPerS(), m.mfuText(" | MFU "), m.computeS(), m.commWaitS(),
                    m.dataWaitS());
        }

        private Optional<Duration> eta() {
            double eta = etaSeconds;
            return Double.isFinite(eta) ? Optional.of(Duration.ofMillis(Math.round(eta * 1000))) : Optional.empty();
        }

        @Override
        public synchronized void close() {
            if (bar != null) bar.close();
            out.flush();
        }
    }

    /**
     * The library's console consumer (a carriage return, then the bar cut to the terminal's width), which also
     * prints whole lines above the bar: the bar is erased, the line printed, the bar drawn again below it.
     */
    private static final class LineAboveBar implements ProgressBarConsumer {
        private final ConsoleProgressBarConsumer console;
        private final PrintStream out;
        private String lastBar;

        LineAboveBar(ConsoleProgressBarConsumer console, PrintStream out) {
            this.console = console;
            this.out = out;
        }

        @Override
        public synchronized void accept(String rendered) {
            lastBar = rendered;
            console.accept(rendered);
            out.flush();
        }

        synchronized void lineAbove(String line) {
            out.print("\r\033[2K");
            out.println(line);
            if (lastBar != null) console.accept(lastBar);
            out.flush();
        }

        @Override
        public int getMaxRenderedLength() {
            return console.getMaxRenderedLength();
        }

        @Override
        public synchronized void close() {
            console.close();
            lastBar = null;
        }
    }
}
