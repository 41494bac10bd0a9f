package dev.jllama.tornado;

import dev.jllama.model.backend.Tensor;

/**
 * A float tensor of the TornadoVM backend: a range of the backend's device arena. Kernels address it by
 * {@code offset}, so one compiled kernel serves every tensor and shape.
 */
record TornadoTensor(String name, int offset, int size, TornadoBackend owner) implements Tensor {}
