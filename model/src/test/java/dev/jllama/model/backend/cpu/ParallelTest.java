package dev.jllama.model.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ParallelTest {
    @Test
    void runsEveryTaskExactlyOnceAcrossManyJobs() {
        try (Parallel parallel = new Parallel(3)) {
            for (int tasks : new int[] {0, 1, 2, 3, 7, 64, 1000}) {
                for (int job = 0; job < 200; job++) {
                    AtomicIntegerArray runs = new AtomicIntegerArray(tasks);
                    parallel.forEach(tasks, runs::incrementAndGet);
                    for (int i = 0; i < tasks; i++) assertEquals(1, runs.get(i), "task " + i + " of " + tasks);
                }
            }
        }
    }

    @Test
    void rethrowsTheFailureAfterTheOtherTasksRan() {
        try (Parallel parallel = new Parallel(2)) {
            AtomicIntegerArray runs = new AtomicIntegerArray(16);
            IllegalArgumentException failure = new IllegalArgumentException("task 5");
            IllegalArgumentException thrown = assertThrows(IllegalArgumentException.class, () -> parallel.forEach(16, i -> {
                runs.incrementAndGet(i);
                if (i == 5) throw failure;
            }));
            assertSame(failure, thrown);
            for (int i = 0; i < 16; i++) assertEquals(1, runs.get(i));
            // The pool still works after a failure.
            AtomicIntegerArray again = new AtomicIntegerArray(8);
            parallel.forEach(8, again::incrementAndGet);
            for (int i = 0; i < 8; i++) assertEquals(1, again.get(i));
        }
    }

    @Test
    void nestedCallsRunInlineAndCallersFromSeveralThreadsTakeTurns() throws Exception {
        try (Parallel parallel = new Parallel(2)) {
            AtomicIntegerArray runs = new AtomicIntegerArray(8 * 8);
            parallel.forEach(8, outer -> parallel.forEach(8, inner -> runs.incrementAndGet(outer * 8 + inner)));
            for (int i = 0; i < 64; i++) assertEquals(1, runs.get(i));

            ExecutorService callers = Executors.newFixedThreadPool(3);
            try {
                AtomicIntegerArray shared = new AtomicIntegerArray(3 * 500);
                List<Future<?>> done = new ArrayList<>();
                for (int c = 0; c < 3; c++) {
                    int base = c * 500;
                    done.add(callers.submit(() -> {
                        for (int job = 0; job < 100; job++) {
                            int first = base + job * 5;
                            parallel.forEach(5, i -> shared.incrementAndGet(first + i));
                        }
                    }));
                }
                for (Future<?> f : done) f.get();
                for (int i = 0; i < shared.length(); i++) assertEquals(1, shared.get(i), "slot " + i);
            } finally {
                callers.shutdown();
            }
        }
    }
}
