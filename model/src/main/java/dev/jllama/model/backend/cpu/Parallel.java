package dev.jllama.model.backend.cpu;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;

/**
 * The CPU backend's thread pool. Work is split into independent tasks whose results never depend on which
 * thread runs them, so every kernel is deterministic whatever the thread count.
 *
 * <p>The calling thread works too, next to {@code threads - 1} workers that take task indices from one counter.
 * Between jobs the workers spin for {@link #SPIN_NANOS} before they park: a training step is hundreds of kernels a
 * few hundred microseconds apart, and waking a parked thread costs tens of microseconds each time (with a
 * ForkJoinPool, whose workers park at once, the second core started each matmul late enough to lose a fifth of
 * its speed on the 15M shapes).
 */
final class Parallel implements AutoCloseable {
    private static final long SPIN_NANOS = 100_000;

    private final int threads;
    private final Thread[] workers;
    /** The job the workers take tasks from; replaced by each {@link #forEach}. */
    private volatile Job job;
    private volatile boolean closed;
    /** The thread inside {@link #forEach}, so that a call from one of its own tasks runs inline. */
    private Thread caller;

    Parallel(int threads) {
        this.threads = threads;
        this.workers = new Thread[threads - 1];
        for (int w = 0; w < workers.length; w++) {
            workers[w] = new Worker(this::work, "jllama-cpu-" + (w + 1));
            workers[w].setDaemon(true);
            workers[w].start();
        }
    }

    int threads() {
        return threads;
    }

    /**
     * Runs {@code body(i)} for every {@code i} in {@code [0, tasks)}, in parallel, and returns when all have run.
     * The first exception a task throws is rethrown here (after the other tasks). Calls from several threads take
     * turns; a call from inside a task runs its tasks on that thread.
     */
    void forEach(int tasks, IntConsumer body) {
        Thread self = Thread.currentThread();
        if (workers.length == 0 || tasks <= 1 || self instanceof Worker || self == caller) {
            for (int i = 0; i < tasks; i++) body.accept(i);
            return;
        }
        synchronized (this) {
            if (closed) throw new IllegalStateException("CPU backend thread pool is closed");
            Job current = new Job(body, tasks);
            caller = self;
            try {
                job = current;
                for (Thread w : workers) LockSupport.unpark(w);
                current.run();
                long start = System.nanoTime();
                while (current.done.get() < tasks) {
                    if (System.nanoTime() - start < SPIN_NANOS) Thread.onSpinWait();
                    else LockSupport.parkNanos(20_000);
                }
            } finally {
                caller = null;
            }
            current.rethrow();
        }
    }

    private void work() {
        Job seen = null;
        while (!closed) {
            Job current = job;
            if (current != null && current != seen) {
                seen = current;
                current.run();
                continue;
            }
            long start = System.nanoTime();
            while (job == seen && !closed && System.nanoTime() - start < SPIN_NANOS) Thread.onSpinWait();
            // forEach unparks every worker after publishing a job, so no job is missed between the check and park.
            if (job == seen && !closed) LockSupport.park(this);
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Thread w : workers) LockSupport.unpark(w);
    }

    /** The pool's threads, told apart so that a nested {@link #forEach} runs inline instead of waiting on itself. */
    private static final class Worker extends Thread {
        Worker(Runnable body, String name) {
            super(body, name);
        }
    }

    /** One {@link #forEach}: the next task index to take, the tasks finished, and the first failure. */
    private static final class Job {
        private final IntConsumer body;
        private final int tasks;
        private final AtomicInteger next = new AtomicInteger();
        private final AtomicInteger done = new AtomicInteger();
        private volatile Throwable failure;

        Job(IntConsumer body, int tasks) {
            this.body = body;
            this.tasks = tasks;
        }

        void run() {
            for (int i = next.getAndIncrement(); i < tasks; i = next.getAndIncrement()) {
                try {
                    body.accept(i);
                } catch (Throwable e) {
                    if (failure == null) failure = e;
                }
                done.incrementAndGet();
            }
        }

        void rethrow() {
            Throwable e = failure;
            if (e instanceof RuntimeException r) throw r;
            if (e instanceof Error err) throw err;
            if (e != null) throw new IllegalStateException(e);
        }
    }
}
