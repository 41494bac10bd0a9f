package dev.jllama.driver;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.spark.ExceptionFailure;
import org.apache.spark.ExecutorLostFailure;
import org.apache.spark.TaskFailedReason;
import org.apache.spark.TaskKilled;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;

/**
 * Remembers the failed tasks of the current attempt of the training stage, so that the driver can say which rank
 * was lost, on which host, and why. A task's partition is its rank.
 */
final class FailureWatch extends SparkListener {
    /** One failed rank. */
    record Failure(int rank, String host, String executor, String reason, boolean executorLost, String exceptionClass) {
        String describe() {
            return "rank " + rank + " on " + host + " (executor " + executor + "): " + reason;
        }
    }

    private final List<Failure> failures = new CopyOnWriteArrayList<>();

    @Override
    public void onTaskEnd(SparkListenerTaskEnd end) {
        if (!(end.reason() instanceof TaskFailedReason failed) || failed instanceof TaskKilled) return;
        String reason = failed.toErrorString().lines().findFirst().orElse("").strip();
        failures.add(new Failure(end.taskInfo().index(), end.taskInfo().host(), end.taskInfo().executorId(), reason,
                failed instanceof ExecutorLostFailure,
                failed instanceof ExceptionFailure exception ? exception.className() : null));
    }

    /** Forgets the failures of the previous attempt. */
    void reset() {
        failures.clear();
    }

    /**
     * The failure that explains the attempt's end: a lost executor when there is one (its peers fail too, often
     * first, because their connections to it broke), else the first failed task. Listener events arrive after
     * the job has ended, so this waits up to {@code waitMillis} for them.
     */
    Optional<Failure> cause(long waitMillis) throws InterruptedException {
        long deadline = System.nanoTime() + waitMillis * 1_000_000L;
        while (System.nanoTime() < deadline && failures.stream().noneMatch(Failure::executorLost)) {
            Thread.sleep(50);
        }
        return failures.stream().filter(Failure::executorLost).findFirst().or(() -> failures.stream().findFirst());
    }
}
