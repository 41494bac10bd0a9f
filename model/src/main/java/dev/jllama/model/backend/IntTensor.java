package dev.jllama.model.backend;

/** An opaque int32 buffer owned by a {@link Backend}: token ids and targets of one micro-batch. */
public interface IntTensor {
    String name();

    int size();
}
