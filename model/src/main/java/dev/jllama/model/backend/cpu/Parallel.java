package dev.jllama.model.backend.cpu;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RecursiveAction;
import java.util.function.IntConsumer;

/**
 * The CPU backend's thread pool. Work is split into independent tasks whose results never depend on which
 * thread runs them, so every kernel is deterministic whatever the thread count.
 */
final class Parallel implements AutoCloseable {
    private final ForkJoinPool pool;
    private final int threads;

    Parallel(int threads) {
        this.threads = threads;
        this.pool = threads > 1 ? new ForkJoinPool(threads) : null;
    }

    int threads() {
        return threads;
    }

    /** Runs {@code body(i)} for every {@code i} in {@code [0, tasks)}, in parallel. */
    void forEach(int tasks, IntConsumer body) {
        if (pool == null || tasks <= 1) {
            for (int i = 0; i < tasks; i++) body.accept(i);
            return;
        }
        pool.invoke(new Range(body, 0, tasks, Math.max(1, tasks / (threads * 4))));
    }

    @Override
    public void close() {
        if (pool != null) pool.shutdown();
    }

    private static final class Range extends RecursiveAction {
        private final IntConsumer body;
        private final int from;
        private final int to;
        private final int grain;

        Range(IntConsumer body, int from, int to, int grain) {
            this.body = body;
            this.from = from;
            this.to = to;
            this.grain = grain;
        }

        @Override
        protected void compute() {
            if (to - from <= grain) {
                for (int i = from; i < to; i++) body.accept(i);
                return;
            }
            int mid = (from + to) >>> 1;
            invokeAll(new Range(body, from, mid, grain), new Range(body, mid, to, grain));
        }
    }
}
