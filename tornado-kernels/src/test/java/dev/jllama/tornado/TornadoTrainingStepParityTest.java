package dev.jllama.tornado;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jllama.model.LlamaConfig;
import dev.jllama.model.backend.cpu.CpuBackend;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A full training step of the `tiny` preset on TornadoVM equals the CPU backend's within 1e-4 (norm-wise). */
class TornadoTrainingStepParityTest {

    @Test
    void tinyPresetStepMatchesCpu() {
        try (TornadoBackend tornado = new TornadoBackend(-1, TornadoBackend.configuredMemoryBytes());
             CpuBackend cpu = new CpuBackend(2)) {
            List<ParityChecks.Result> results = new ParityChecks(tornado, cpu)
                    .trainingStep(LlamaConfig.PRESETS.get("tiny"), 2, 40, 1e-4);
            StringBuilder report = new StringBuilder();
            boolean ok = true;
            double worst = 0;
            for (ParityChecks.Result r : results) {
                report.append(r).append('\n');
                ok &= r.ok();
                worst = Math.max(worst, r.error());
            }
            System.out.print(report);
            System.out.printf("worst relative error %.3e over %d outputs%n", worst, results.size());
            assertTrue(results.size() > 20, "loss, every gradient and every parameter are compared");
            assertTrue(ok, report.toString());
        }
    }
}
