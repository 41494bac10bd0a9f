package dev.jllama.model.backend;

/**
 * A backend implementation found at run time through {@link java.util.ServiceLoader}
 * ({@code META-INF/services/dev.jllama.model.backend.BackendProvider}). The CPU backend is always present; the
 * TornadoVM backend registers itself when its module and an SDK are on the class path.
 */
public interface BackendProvider {

    /** The name given to {@code --backend}. */
    String name();

    /** Preference when no backend is named: the highest available wins. */
    int priority();

    /** Whether this backend can run here (e.g. a TornadoVM device exists). Must not throw. */
    boolean available();

    /**
     * @param deviceIndex which device to drive (the Spark GPU address), or -1 for the default
     * @param threads     host threads to use, or 0 for one per core
     */
    Backend create(int deviceIndex, int threads);

    /**
     * {@link #create(int, int)} computing matrix products in {@code precision}. This default runs fp32 only and
     * refuses any other precision, so a backend without reduced-precision kernels says so instead of silently
     * training in fp32.
     */
    default Backend create(int deviceIndex, int threads, Precision precision) {
        if (precision != Precision.FP32) {
            throw new UnsupportedOperationException("backend '" + name() + "' does not implement "
                    + precision.label() + " matrix products; use --precision fp32 or --backend cpu");
        }
        return create(deviceIndex, threads);
    }
}
