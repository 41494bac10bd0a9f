package dev.jllama.tornado;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jllama.model.LlamaConfig;
import dev.jllama.model.backend.cpu.CpuBackend;
import dev.jllama.model.bench.StepBenchmark;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The device memory split into eight small arenas, so that the tiny preset's tensors spread over several of them
 * (its 1 MiB embedding with its gradient and moments take half a 2 MiB arena each, its 1.25 MiB of logits most of
 * one): a full training step equals the CPU backend's, and still runs as the same executions as with one arena.
 */
class TornadoMultiArenaTest {
    private static final long MEMORY = 16L << 20;
    private static final long ARENA = 2L << 20;

    @Test
    void tinyStepOverEightArenasMatchesCpu() {
        try (TornadoBackend tornado = new TornadoBackend(-1, MEMORY, ARENA);
             CpuBackend cpu = new CpuBackend(2)) {
            assertEquals(8, tornado.arenaCount());
            List<ParityChecks.Result> results = new ParityChecks(tornado, cpu)
                    .trainingStep(LlamaConfig.PRESETS.get("tiny"), 2, 40, 1e-4);
            StringBuilder report = new StringBuilder();
            boolean ok = true;
            for (ParityChecks.Result r : results) {
                report.append(r).append('\n');
                ok &= r.ok();
            }
            System.out.print(report);
            System.out.println(tornado.device() + ": arenas reached " + tornado.arenasReached());
            assertTrue(tornado.arenasReached() >= 4, "the tensors reached only " + tornado.arenasReached()
                    + " of 8 arenas");
            assertTrue(results.size() > 20, "loss, every gradient and every parameter are compared");
            assertTrue(ok, report.toString());
        }
    }

    @Test
    void tinyStepOverEightArenasIsThreeExecutionsPerLayerAndAFewMore() throws Exception {
        LlamaConfig tiny = LlamaConfig.PRESETS.get("tiny");
        try (TornadoBackend tornado = new TornadoBackend(-1, MEMORY, ARENA)) {
            StepBenchmark.Result r = StepBenchmark.run(tornado, tiny, 1, 32, 2, false);
            System.out.printf("tiny over %d arenas (%d reached): %.1f executions per step, device memory %d of %d"
                    + " bytes%n", tornado.arenaCount(), tornado.arenasReached(), r.executionsPerStep(),
                    r.deviceBytesInUse(), r.deviceBytesReserved());
            assertTrue(tornado.arenasReached() >= 4, "the tensors reached only " + tornado.arenasReached() + " arenas");
            assertEquals(TornadoExecutionCountTest.FIXED + 3 * tiny.layers(), r.executionsPerStep());
            assertTrue(r.deviceBytesInUse() > 0 && r.deviceBytesInUse() <= r.deviceBytesReserved(),
                    r.deviceBytesInUse() + " of " + r.deviceBytesReserved());
        }
    }
}
