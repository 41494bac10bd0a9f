package dev.jllama.model.backend.cpu;

import dev.jllama.model.backend.Backend;
import dev.jllama.model.backend.BackendProvider;
import dev.jllama.model.backend.Precision;

/** Registers the CPU backend; always available, lowest priority. */
public final class CpuBackendProvider implements BackendProvider {
    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public int priority() {
        return 0;
    }

    @Override
    public boolean available() {
        return true;
    }

    @Override
    public Backend create(int deviceIndex, int threads) {
        return new CpuBackend(threads);
    }

    @Override
    public Backend create(int deviceIndex, int threads, Precision precision) {
        return new CpuBackend(threads, precision);
    }
}
