package dev.jllama.tornado;

import uk.ac.manchester.tornado.api.types.arrays.FloatArray;

/**
 * Loads and stores into the backend's float arenas {@code m0 .. m7}, which every kernel takes as its first
 * parameters after the {@link uk.ac.manchester.tornado.api.KernelContext}. A tensor lives inside one arena; the
 * kernel finds operand {@code k} (whose offset is its integer argument {@code a[k]}) in arena
 * {@code a[ARENA + k]}. The arena index is the same for every work-item of a launch, so the branch below never
 * diverges (multi-tensor lists are the exception, at tensor boundaries only). TornadoVM cannot select an array by
 * a runtime value (a phi of two array parameters is not compiled), hence one branch per access.
 */
final class ArenaMemory {
    /** The float arenas every kernel takes (8 x 8 GiB at most). */
    static final int SLOTS = 8;
    /** Integer argument index of operand 0's arena: operand {@code k} (offset {@code a[k]}) is in {@code a[ARENA + k]}. */
    static final int ARENA = 16;

    private ArenaMemory() {}

    static float load(FloatArray m0, FloatArray m1, FloatArray m2, FloatArray m3, FloatArray m4, FloatArray m5,
                      FloatArray m6, FloatArray m7, int arena, int index) {
        float value;
        if (arena == 0) value = m0.get(index);
        else if (arena == 1) value = m1.get(index);
        else if (arena == 2) value = m2.get(index);
        else if (arena == 3) value = m3.get(index);
        else if (arena == 4) value = m4.get(index);
        else if (arena == 5) value = m5.get(index);
        else if (arena == 6) value = m6.get(index);
        else value = m7.get(index);
        return value;
    }

    static void store(FloatArray m0, FloatArray m1, FloatArray m2, FloatArray m3, FloatArray m4, FloatArray m5,
                      FloatArray m6, FloatArray m7, int arena, int index, float value) {
        if (arena == 0) m0.set(index, value);
        else if (arena == 1) m1.set(index, value);
        else if (arena == 2) m2.set(index, value);
        else if (arena == 3) m3.set(index, value);
        else if (arena == 4) m4.set(index, value);
        else if (arena == 5) m5.set(index, value);
        else if (arena == 6) m6.set(index, value);
        else m7.set(index, value);
    }
}
