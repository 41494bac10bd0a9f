package dev.jllama.model.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jllama.model.backend.cpu.CpuBackend;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@link Backend}'s list reads and writes, in the default form every backend inherits (here on the CPU backend). */
class ListTransferTest {
    private static final int[] SIZES = {5, 0, 17, 3};
    private static CpuBackend backend;
    private static final List<Tensor> tensors = new ArrayList<>();

    @BeforeAll
    static void start() {
        backend = new CpuBackend(1);
        for (int t = 0; t < SIZES.length; t++) {
            Tensor tensor = backend.allocate("t" + t, SIZES[t]);
            backend.write(tensor, 0, values(t, SIZES[t]), 0, SIZES[t]);
            tensors.add(tensor);
        }
    }

    @AfterAll
    static void stop() {
        backend.close();
    }

    /** Tensor {@code t}'s elements: {@code 100 t + i + 1}, so that every element says where it came from. */
    private static float[] values(int t, int size) {
        float[] v = new float[size];
        for (int i = 0; i < size; i++) v[i] = 100 * t + i + 1;
        return v;
    }

    private static float[] filled(int size) {
        float[] host = new float[size];
        Arrays.fill(host, -1f);
        return host;
    }

    @Test
    void wholeTensorsLandAtTheirOffsetsAndNothingElseChanges() {
        float[] host = filled(40);
        backend.read(tensors, host, new int[] {30, 7, 8, 1});
        float[] expected = filled(40);
        System.arraycopy(values(0, 5), 0, expected, 30, 5);
        System.arraycopy(values(2, 17), 0, expected, 8, 17);
        System.arraycopy(values(3, 3), 0, expected, 1, 3);
        assertArrayEquals(expected, host);
    }

    @Test
    void rangesOfTensors() {
        float[] host = filled(12);
        backend.read(List.of(tensors.get(2), tensors.get(0), tensors.get(2)), new int[] {15, 1, 0}, new int[] {2, 3, 4},
                host, new int[] {0, 9, 4});
        float[] expected = filled(12);
        expected[0] = 216;
        expected[1] = 217;
        expected[9] = 2;
        expected[10] = 3;
        expected[11] = 4;
        for (int i = 0; i < 4; i++) expected[4 + i] = 201 + i;
        assertArrayEquals(expected, host);
    }

    @Test
    void badArgumentsNameTheTensorOrTheCounts() {
        float[] host = new float[30];
        var counts = assertThrows(IllegalArgumentException.class, () -> backend.read(tensors, host, new int[] {0, 5}));
        assertTrue(counts.getMessage().contains("read of 4 tensors needs 4"), counts.getMessage());
        var source = assertThrows(IndexOutOfBoundsException.class, () -> backend.read(List.of(tensors.get(2)),
                new int[] {10}, new int[] {8}, host, new int[] {0}));
        assertTrue(source.getMessage().contains("[10, 18) is outside tensor 't2' of 17"), source.getMessage());
        var destination = assertThrows(IndexOutOfBoundsException.class, () -> backend.read(List.of(tensors.get(2)),
                host, new int[] {20}));
        assertTrue(destination.getMessage().contains("host range [20, 37) is outside the host array of 30"),
                destination.getMessage());
    }

    @Test
    void writesPutHostRangesIntoTensorsAndNothingElse() {
        try (CpuBackend cpu = new CpuBackend(1)) {
            Tensor a = cpu.allocate("a", 6), b = cpu.allocate("b", 4);
            cpu.write(a, 0, filled(6), 0, 6);
            cpu.write(b, 0, filled(4), 0, 4);
            float[] host = new float[20];
            for (int i = 0; i < host.length; i++) host[i] = i;
            cpu.write(List.of(a, b), host, new int[] {10, 2});
            float[] ra = new float[6], rb = new float[4];
            cpu.read(a, 0, ra, 0, 6);
            cpu.read(b, 0, rb, 0, 4);
            assertArrayEquals(new float[] {10, 11, 12, 13, 14, 15}, ra);
            assertArrayEquals(new float[] {2, 3, 4, 5}, rb);
            cpu.write(List.of(a, b, a), new int[] {1, 3, 5}, new int[] {2, 1, 1}, host, new int[] {18, 0, 7});
            cpu.read(a, 0, ra, 0, 6);
            cpu.read(b, 0, rb, 0, 4);
            assertArrayEquals(new float[] {10, 18, 19, 13, 14, 7}, ra);
            assertArrayEquals(new float[] {2, 3, 4, 0}, rb);
            var range = assertThrows(IndexOutOfBoundsException.class, () -> cpu.write(List.of(b), new int[] {2},
                    new int[] {3}, host, new int[] {0}));
            assertTrue(range.getMessage().contains("write: range [2, 5) is outside tensor 'b' of 4"), range.getMessage());
        }
    }
}
