package dev.jllama.model.backend;

/**
 * An opaque buffer of float32 values owned by a {@link Backend} (which may keep a saved activation in bf16, see
 * {@link Backend#allocateActivation}): host memory for the CPU backend, device memory for a GPU
 * backend. The model never touches its elements directly; it moves data only through
 * {@link Backend#write} and {@link Backend#read}.
 */
public interface Tensor {
    String name();

    /** Number of elements. */
    int size();

    /** Bytes of memory the elements take: 4 each in fp32, 2 for a tensor the backend keeps in bf16. */
    default long bytes() {
        return 4L * size();
    }
}
