package dev.jllama.model.backend;

/**
 * An opaque float32 buffer owned by a {@link Backend}: host memory for the CPU backend, device memory for a GPU
 * backend. The model never touches its elements directly; it moves data only through
 * {@link Backend#write} and {@link Backend#read}.
 */
public interface Tensor {
    String name();

    /** Number of float elements. */
    int size();
}
