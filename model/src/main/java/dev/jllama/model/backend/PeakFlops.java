package dev.jllama.model.backend;

import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The FLOP/s a backend's device can reach in single precision: the denominator of MFU ({@code ModelFlops}).
 *
 * @param flopsPerSecond the peak, FLOP/s
 * @param source         where the figure comes from, for the line a rank prints ("measured ...", "datasheet ...")
 */
public record PeakFlops(double flopsPerSecond, String source) {

    public PeakFlops {
        if (!(flopsPerSecond > 0) || Double.isInfinite(flopsPerSecond)) {
            throw new IllegalArgumentException("peak FLOP/s must be positive and finite: " + flopsPerSecond);
        }
    }

    /** E.g. "285.3 GFLOP/s" or "67.0 TFLOP/s". */
    public String describe() {
        return flopsPerSecond >= 1e12 ? String.format("%.1f TFLOP/s", flopsPerSecond / 1e12)
                : String.format("%.1f GFLOP/s", flopsPerSecond / 1e9);
    }

    /** One GPU of the table: a name pattern and its dense fp32 peak in TFLOP/s. */
    private record Gpu(Pattern name, String model, double tflops) {
        Gpu(String regex, String model, double tflops) {
            this(Pattern.compile(regex, Pattern.CASE_INSENSITIVE), model, tflops);
        }
    }

    /**
     * Dense fp32 peaks (CUDA cores, no tensor cores, no TF32: the kernels of a GPU backend here multiply in plain
     * fp32) from NVIDIA's datasheets at boost clock. A backend that multiplies on tensor cores (fp16/bf16 MMA) must
     * report that peak instead. Matched in order against the device name the driver reports (OpenCL's and
     * nvidia-smi's: "NVIDIA H100 80GB HBM3", "NVIDIA H100 PCIe", "NVIDIA A100-SXM4-80GB", "NVIDIA L4"), so the
     * more specific names come first.
     */
    private static final List<Gpu> GPUS = List.of(
            new Gpu("\\bH100\\b.*\\bNVL\\b", "H100 NVL", 60.0),
            new Gpu("\\bH100\\b.*\\bPCIe\\b", "H100 PCIe", 51.2),
            new Gpu("\\bH100\\b", "H100 SXM", 66.9),
            new Gpu("\\bH200\\b.*\\bNVL\\b", "H200 NVL", 60.0),
            new Gpu("\\bH200\\b", "H200 SXM", 66.9),
            new Gpu("\\bGH200\\b", "GH200", 66.9),
            new Gpu("\\bA100\\b", "A100", 19.5),
            new Gpu("\\bA10G\\b", "A10G", 31.2),
            new Gpu("\\bA10\\b", "A10", 31.2),
            new Gpu("\\bL40S\\b", "L40S", 91.6),
            new Gpu("\\bL40\\b", "L40", 90.5),
            new Gpu("\\bL4\\b", "L4", 30.3),
            new Gpu("\\bV100\\b.*\\bPCIE\\b", "V100 PCIe", 14.0),
            new Gpu("\\bV100\\b", "V100 SXM2", 15.7),
            new Gpu("\\bT4\\b", "T4", 8.1),
            new Gpu("\\bRTX 4090\\b", "GeForce RTX 4090", 82.6),
            new Gpu("\\bRTX 3090\\b", "GeForce RTX 3090", 35.6));

    /** The datasheet fp32 peak of the GPU named {@code deviceName}, or empty for a device not in the table. */
    public static Optional<PeakFlops> ofGpu(String deviceName) {
        if (deviceName == null) return Optional.empty();
        for (Gpu gpu : GPUS) {
            if (gpu.name().matcher(deviceName).find()) {
                return Optional.of(new PeakFlops(gpu.tflops() * 1e12, "fp32 datasheet peak of the " + gpu.model()));
            }
        }
        return Optional.empty();
    }
}
