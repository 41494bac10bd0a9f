package dev.jllama.tornado;

import dev.jllama.model.LlamaConfig;
import dev.jllama.model.backend.cpu.CpuBackend;
import java.util.List;

/**
 * The parity tests as a plain program, for machines without Maven (the GPU machine):
 * {@code java <tornado flags> -cp ... dev.jllama.tornado.ParityCheck [deviceIndex | --devices]}. Exit status 1 on any failure.
 */
public final class ParityCheck {
    private ParityCheck() {}

    public static void main(String[] args) {
        if (args.length > 0 && args[0].equals("--devices")) {
            System.out.print(TornadoDevices.describe());
            return;
        }
        int device = args.length > 0 ? Integer.parseInt(args[0]) : -1;
        int failures = 0;
        try (TornadoBackend tornado = new TornadoBackend(device, TornadoBackend.configuredMemoryBytes());
             CpuBackend cpu = new CpuBackend(0)) {
            System.out.println("parity: " + tornado.device() + " vs " + cpu.device());
            long t0 = System.nanoTime();
            List<ParityChecks.Result> kernels = new ParityChecks(tornado, cpu).kernels();
            for (ParityChecks.Result r : kernels) {
                System.out.println("  " + r);
                if (!r.ok()) failures++;
            }
            System.out.printf("kernels: %d checks, %d failed, %.1f s%n", kernels.size(), failures, (System.nanoTime() - t0) / 1e9);
            TornadoBackend.Gemm configured = tornado.gemm();
            for (TornadoBackend.Gemm kernel : TornadoBackend.Gemm.values()) {
                tornado.gemm(kernel);
                t0 = System.nanoTime();
                List<ParityChecks.Result> step = new ParityChecks(tornado, cpu)
                        .trainingStep(LlamaConfig.PRESETS.get("tiny"), 2, 32, 1e-4);
                int stepFailures = 0;
                for (ParityChecks.Result r : step) {
                    if (!r.ok()) {
                        stepFailures++;
                        System.out.println("  " + r);
                    }
                }
                double worst = step.stream().mapToDouble(ParityChecks.Result::error).max().orElse(0);
                System.out.printf("tiny training step [gemm %d]: %d checks, %d failed, worst rel.err %.3e, %.1f s%n",
                        kernel.tile(), step.size(), stepFailures, worst, (System.nanoTime() - t0) / 1e9);
                failures += stepFailures;
            }
            tornado.gemm(configured);
        }
        System.out.println(failures == 0 ? "PARITY OK" : "PARITY FAILED: " + failures);
        System.exit(failures == 0 ? 0 : 1);
    }
}
