package dev.jllama.model.backend.cpu;

import dev.jllama.model.backend.Tensor;

/** A tensor of the CPU backend: a plain heap array. */
record CpuTensor(String name, float[] data) implements Tensor {
    @Override
    public int size() {
        return data.length;
    }
}
