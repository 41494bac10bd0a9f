package dev.jllama.model.backend.cpu;

import dev.jllama.model.backend.IntTensor;

/** Token ids of the CPU backend: a plain heap array. */
record CpuIntTensor(String name, int[] data) implements IntTensor {
    @Override
    public int size() {
        return data.length;
    }
}
