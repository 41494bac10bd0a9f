package dev.jllama.tornado;

import dev.jllama.model.backend.Backend;
import dev.jllama.model.backend.BackendProvider;

/**
 * Registers the TornadoVM backend with {@link java.util.ServiceLoader}. This class names no TornadoVM type, so
 * loading it never fails; {@link #available()} probes the runtime and reports false when the SDK's modules or
 * flags are missing or no device exists.
 */
public final class TornadoBackendProvider implements BackendProvider {

    @Override
    public String name() {
        return "tornado";
    }

    @Override
    public int priority() {
        return 100;
    }

    @Override
    public boolean available() {
        try {
            return TornadoDevices.count() > 0;
        } catch (Throwable absent) {
            // NoClassDefFoundError without the SDK's modules, ExceptionInInitializerError without its flags.
            return false;
        }
    }

    @Override
    public Backend create(int deviceIndex, int threads) {
        return new TornadoBackend(deviceIndex, TornadoBackend.configuredMemoryBytes());
    }
}
