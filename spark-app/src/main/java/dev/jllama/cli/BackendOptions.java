package dev.jllama.cli;

import dev.jllama.model.backend.Backend;
import dev.jllama.model.backend.Backends;
import dev.jllama.model.backend.Precision;
import dev.jllama.model.backend.cpu.CpuBackend;
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

    /** The backend these options name, computing in {@code precision}. */
    Backend create(Precision precision) {
        return Backends.create(backend, deviceIndex(), threadCount(), precision);
    }

    /** The backend these options name, in their {@code --precision}. */
    Backend create() {
        return create(precision());
    }

    /** The threads the backend runs on, for baselines that must use as many. */
    int threadsOf(Backend created) {
        return created instanceof CpuBackend cpu ? cpu.threads()
                : threads != null ? threads : Runtime.getRuntime().availableProcessors();
    }

    static final class Names extends java.util.ArrayList<String> {
        Names() {
            super(java.util.List.of("auto", "cpu", "tornado"));
        }
    }

    static final class Precisions extends java.util.ArrayList<String> {
        Precisions() {
            super(java.util.Arrays.stream(Precision.values()).map(Precision::label).toList());
        }
    }
}
