package dev.jllama.tornado;

import dev.jllama.model.backend.IntTensor;

/**
 * An int tensor of the TornadoVM backend: a range of the int arena, plus a host copy of what was last written
 * (token ids are tiny), used to validate ids and to group rows by token for the embedding gradient.
 */
record TornadoIntTensor(String name, int offset, int size, int[] host) implements IntTensor {}
