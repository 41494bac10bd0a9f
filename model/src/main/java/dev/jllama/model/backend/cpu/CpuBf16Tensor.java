package dev.jllama.model.backend.cpu;

import dev.jllama.model.backend.Tensor;

/** A saved activation the CPU backend keeps as bf16 bits (in bf16 precision): its values are rounded when written. */
record CpuBf16Tensor(String name, short[] bits) implements Tensor {
    @Override
    public int size() {
        return bits.length;
    }

    @Override
    public long bytes() {
        return 2L * bits.length;
    }
}
