package dev.jllama.cli;

import dev.jllama.model.backend.Precision;
import picocli.CommandLine.Option;

/** Where and how a command's kernels run: {@code --backend}, {@code --device}, {@code --threads}, {@code --precision}.
 */
final class BackendOptions {

    @Option(names = "--backend", defaultValue = "auto", paramLabel = "NAME",
            completionCandidates = BackendOptions.Names.class,
            description = "auto (TornadoVM when a device exists, else CPU), cpu or tornado (default: ${DEFAULT-VALUE})")
    String backend;

    @Option(names = "--device", paramLabel = "N",
            description = "device index for a GPU backend when none is assigned (default: the first)")
    @Range(min = 0)
    Integer device;

    @Option(names = "--threads", paramLabel = "N",
            description = "CPU threads (default: all cores, or the Spark task's cores)")
    @Range(min = 1)
    Integer threads;

    @Option(names = "--precision", defaultValue = "fp32", paramLabel = "P",
            completionCandidates = BackendOptions.Precisions.class,
            description = "matrix products in fp32, or bf16 (bf16 operands, fp32 accumulation; weights, gradients and"
                    + " optimizer stay fp32) (default: ${DEFAULT-VALUE})")
    String precision;

    /** The parsed {@code --precision}. */
    Precision precision() {
        return Precision.parse(precision);
    }

    /** The device index for {@code Backends.create}: -1 for the first. */
    int deviceIndex() {
        return device == null ? -1 : device;
    }

    /** The thread count for {@code Backends.create}: 0 for the default. */
    int threadCount() {
        return threads == null ? 0 : threads;
    }

    /** Checks the name before any work. */
    void validate() {
        if (!Names.ALL.contains(backend)) {
            throw new UsageException("--backend must be one of " + String.join(", ", Names.ALL) + ", got '" + backend + "'");
        }
        if (!Precisions.ALL.contains(precision)) {
            throw new UsageException("--precision must be one of " + String.join(", ", Precisions.ALL) + ", got '"
                    + precision + "'");
        }
    }

    static final class Names extends java.util.ArrayList<String> {
        static final java.util.List<String> ALL = java.util.List.of("auto", "cpu", "tornado");

        Names() {
            super(ALL);
        }
    }

    static final class Precisions extends java.util.ArrayList<String> {
        static final java.util.List<String> ALL =
                java.util.Arrays.stream(Precision.values()).map(Precision::label).toList();

        Precisions() {
            super(ALL);
        }
    }
}
