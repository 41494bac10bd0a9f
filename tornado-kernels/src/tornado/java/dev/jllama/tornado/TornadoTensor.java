package dev.jllama.tornado;

import dev.jllama.model.backend.Tensor;

/**
 * A float tensor of the TornadoVM backend: a range of one of the backend's device arenas. Kernels address it by
 * {@code arena} and {@code offset}, so one compiled kernel serves every tensor and shape.
 */
record TornadoTensor(String name, int arena, int offset, int size, TornadoBackend owner) implements Tensor {}
