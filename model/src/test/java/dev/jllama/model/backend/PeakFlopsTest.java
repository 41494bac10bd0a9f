package dev.jllama.model.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The GPU table behind {@link Backend#peakFlops()}'s default, matched on the names drivers report. */
class PeakFlopsTest {

    @Test
    void gpuNamesAsDriversReportThemFindTheirDatasheetPeak() {
        Map<String, Double> tflops = Map.ofEntries(
                Map.entry("NVIDIA H100 80GB HBM3", 66.9),
                Map.entry("NVIDIA H100 PCIe", 51.2),
                Map.entry("NVIDIA H100 NVL", 60.0),
                Map.entry("NVIDIA H200", 66.9),
                Map.entry("NVIDIA H200 NVL", 60.0),
                Map.entry("NVIDIA A100-SXM4-80GB", 19.5),
                Map.entry("NVIDIA A100 80GB PCIe", 19.5),
                Map.entry("NVIDIA A10", 31.2),
                Map.entry("NVIDIA L4", 30.3),
                Map.entry("NVIDIA L40S", 91.6),
                Map.entry("Tesla V100-SXM2-32GB", 15.7),
                Map.entry("Tesla T4", 8.1),
                // As the TornadoVM backend names its device: the driver's name, then its own details.
                Map.entry("NVIDIA H100 80GB HBM3 (TornadoVM PTX, 1 arena of 1024 MiB, gemm GEMM128, split-K on)", 66.9));
        tflops.forEach((name, expected) -> {
            Optional<PeakFlops> peak = PeakFlops.ofGpu(name);
            assertTrue(peak.isPresent(), name);
            assertEquals(expected * 1e12, peak.get().flopsPerSecond(), 1e6, name);
        });
    }

    @Test
    void devicesNotInTheTableHaveNoPeak() {
        for (String name : new String[] {"cpu-haswell-AMD EPYC 9B45 (TornadoVM OpenCL, 1 arena of 1024 MiB)",
                "CPU, 2 threads, 512-bit vectors, matmul openblas 0.3.31 (Cooperlake)", "NVIDIA GeForce GTX 1080", ""}) {
            assertEquals(Optional.empty(), PeakFlops.ofGpu(name), name);
        }
        assertEquals(Optional.empty(), PeakFlops.ofGpu(null));
    }

    @Test
    void describesInUnitsAPersonReads() {
        assertEquals("285.3 GFLOP/s", new PeakFlops(285.3e9, "x").describe());
        assertEquals("66.9 TFLOP/s", new PeakFlops(66.9e12, "x").describe());
        assertThrows(IllegalArgumentException.class, () -> new PeakFlops(0, "x"));
        assertThrows(IllegalArgumentException.class, () -> new PeakFlops(Double.NaN, "x"));
    }
}
