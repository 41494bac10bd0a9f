package dev.jllama.tornado;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jllama.model.LlamaConfig;
import dev.jllama.model.backend.Tensor;
import dev.jllama.model.backend.cpu.CpuBackend;
import dev.jllama.model.bench.StepBenchmark;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
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

    @Test
    void listReadGathersTensorsFromSeveralArenas() {
        try (TornadoBackend tornado = new TornadoBackend(-1, MEMORY, ARENA)) {
            // 1.2 MB each: one per 2 MiB arena.
            int size = 300_000, count = 5;
            SplittableRandom random = new SplittableRandom(3);
            List<Tensor> tensors = new ArrayList<>();
            List<float[]> values = new ArrayList<>();
            Set<Integer> arenas = new HashSet<>();
            for (int i = 0; i < count; i++) {
                float[] v = new float[size];
                for (int j = 0; j < size; j++) v[j] = (float) random.nextDouble();
                Tensor t = tornado.allocate("t" + i, size);
                tornado.write(t, 0, v, 0, size);
                tensors.add(t);
                values.add(v);
                arenas.add(((TornadoTensor) t).arena());
            }
            assertTrue(arenas.size() >= 4, "the tensors landed in arenas " + arenas);
            int[] srcOffsets = new int[count], lengths = new int[count], dstOffsets = new int[count];
            int filled = 7;
            for (int i = 0; i < count; i++) {
                srcOffsets[i] = 11 * i;
                lengths[i] = size - 11 * i - 3 * i;
                dstOffsets[i] = filled;
                filled += lengths[i] + 5;
            }
            float[] dst = new float[filled];
            tornado.read(tensors, srcOffsets, lengths, dst, dstOffsets);
            for (int i = 0; i < count; i++) {
                for (int j = 0; j < lengths[i]; j++) {
                    assertEquals(values.get(i)[srcOffsets[i] + j], dst[dstOffsets[i] + j],
                            "tensor " + i + " element " + (srcOffsets[i] + j));
                }
            }
        }
    }
}
