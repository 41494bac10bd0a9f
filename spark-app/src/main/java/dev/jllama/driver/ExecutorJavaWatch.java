package dev.jllama.driver;

import dev.jllama.javacheck.ExecutorJavaCheck;
import org.apache.spark.SparkConf;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerExecutorRemoved;

/**
 * The driver's half of the executors' Java check: {@link #install} makes every executor run {@link ExecutorJavaCheck}
 * as it starts, and the watch keeps the line of the first executor that check stopped, which Spark hands the driver
 * as the reason the executor was removed. A cluster whose executors all run on too old a Java replaces them again and
 * again, so a watch added after the context has started still sees one.
 */
final class ExecutorJavaWatch extends SparkListener {
    private volatile String problem;

    /** Adds the check to {@code spark.plugins}, keeping plugins the settings name. */
    static void install(SparkConf conf) {
        String plugins = conf.get("spark.plugins", "");
        String check = ExecutorJavaCheck.class.getName();
        if (!plugins.contains(check)) conf.set("spark.plugins", plugins.isEmpty() ? check : plugins + "," + check);
    }

    @Override
    public void onExecutorRemoved(SparkListenerExecutorRemoved removed) {
        String reason = removed.reason() == null ? "" : removed.reason();
        int at = reason.indexOf(ExecutorJavaCheck.lineStart(removed.executorId()));
        if (at < 0) return;
        String line = reason.substring(at).lines().findFirst().orElse("").strip();
        if (!line.contains(ExecutorJavaCheck.NEEDS)) return;
        if (problem == null) problem = line;
    }

    /** Fails with that line, if there is one: no attempt can succeed on executors that cannot load jllama. */
    void check() {
        if (problem != null) throw new IllegalStateException(problem);
    }
}
