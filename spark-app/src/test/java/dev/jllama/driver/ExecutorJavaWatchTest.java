package dev.jllama.driver;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.apache.spark.SparkConf;
import org.apache.spark.scheduler.SparkListenerExecutorRemoved;
import org.junit.jupiter.api.Test;

/** The driver picks the executors' line out of Spark's reasons for removing them, and only that line. */
class ExecutorJavaWatchTest {
    static final String LINE = "executor 3 on node7 runs Java 17.0.15 (/usr/lib/jvm/java-17) and jllama needs Java 25"
            + " or later: ship one with the job";

    @Test
    void theFirstLineFromSparksReasonFailsTheRun() {
        ExecutorJavaWatch watch = new ExecutorJavaWatch();
        watch.onExecutorRemoved(new SparkListenerExecutorRemoved(0L, "3", "Command exited with code 1"));
        watch.onExecutorRemoved(new SparkListenerExecutorRemoved(0L, "4", "executor 4 on node8 lost its heartbeat"));
        assertDoesNotThrow(watch::check);
        watch.onExecutorRemoved(new SparkListenerExecutorRemoved(0L, "3", "Unable to create executor due to " + LINE
                + "\n\tat dev.jllama.javacheck.ExecutorJavaCheck$1.init"));
        watch.onExecutorRemoved(new SparkListenerExecutorRemoved(0L, "5", "Unable to create executor due to "
                + LINE.replace("executor 3", "executor 5")));
        assertEquals(LINE, assertThrows(IllegalStateException.class, watch::check).getMessage());
    }

    @Test
    void installKeepsTheOtherPlugins() {
        SparkConf conf = new SparkConf(false).set("spark.plugins", "com.example.Plugin");
        ExecutorJavaWatch.install(conf);
        ExecutorJavaWatch.install(conf);
        assertEquals("com.example.Plugin,dev.jllama.javacheck.ExecutorJavaCheck", conf.get("spark.plugins"));
    }
}
