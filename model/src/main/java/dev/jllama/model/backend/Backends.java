package dev.jllama.model.backend;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.ServiceLoader;

/** Chooses a backend by name, or the most preferred available one. */
public final class Backends {
    private Backends() {}

    public static List<BackendProvider> providers() {
        List<BackendProvider> found = new ArrayList<>();
        for (BackendProvider provider : ServiceLoader.load(BackendProvider.class)) found.add(provider);
        found.sort(Comparator.comparingInt(BackendProvider::priority).reversed());
        return found;
    }

    /**
     * @param name {@code cpu}, {@code tornado}, or null/"auto" for the most preferred available backend
     */
    public static Backend create(String name, int deviceIndex, int threads) {
        return create(name, deviceIndex, threads, Precision.FP32);
    }

    /**
     * @param name      {@code cpu}, {@code tornado}, or null/"auto" for the most preferred available backend
     * @param precision of the matrix products; a backend that does not implement it refuses
     */
    public static Backend create(String name, int deviceIndex, int threads, Precision precision) {
        List<BackendProvider> providers = providers();
        if (name == null || name.equals("auto")) {
            for (BackendProvider provider : providers) {
                if (provider.available()) return provider.create(deviceIndex, threads, precision);
            }
            throw new IllegalStateException("no backend available (the CPU backend should always be)");
        }
        List<String> names = new ArrayList<>();
        for (BackendProvider provider : providers) {
            names.add(provider.name());
            if (provider.name().equals(name)) {
                if (!provider.available()) {
                    throw new IllegalStateException("backend '" + name + "' is not available on this machine");
                }
                return provider.create(deviceIndex, threads, precision);
            }
        }
        throw new IllegalArgumentException("unknown backend '" + name + "' (available: " + names + ")");
    }
}
