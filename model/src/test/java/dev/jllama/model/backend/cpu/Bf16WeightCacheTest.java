package dev.jllama.model.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.jllama.model.backend.AdamWStep;
import dev.jllama.model.backend.Precision;
import dev.jllama.model.backend.Tensor;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.Test;

/**
 * In bf16 the backend keeps each weight converted between products; every way of changing a tensor must make the
 * next product use the new values, as a backend that never saw the old ones computes them.
 */
class Bf16WeightCacheTest {
    private static final int ROWS = 40, IN = 48, OUT = 72;

    private static float[] gaussian(SplittableRandom random, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) random.nextGaussian();
        return x;
    }

    private static Tensor upload(CpuBackend backend, String name, float[] values) {
        Tensor t = backend.allocate(name, values.length);
        backend.write(t, 0, values, 0, values.length);
        return t;
    }

    /** Forward and input-gradient products of x, dy with w on {@code backend}. */
    private static float[][] products(CpuBackend backend, Tensor x, Tensor dy, Tensor w) {
        Tensor out = backend.allocate("out", ROWS * OUT), dx = backend.allocate("dx", ROWS * IN);
        backend.matmul(out, x, w, ROWS, IN, OUT);
        backend.matmulBackwardInput(dx, dy, w, ROWS, IN, OUT, false);
        float[] o = new float[ROWS * OUT], d = new float[ROWS * IN];
        backend.read(out, 0, o, 0, o.length);
        backend.read(dx, 0, d, 0, d.length);
        return new float[][] {o, d};
    }

    @Test
    void everyWriteToAWeightReachesTheNextProduct() {
        SplittableRandom random = new SplittableRandom(2);
        float[] xs = gaussian(random, ROWS * IN), dys = gaussian(random, ROWS * OUT), ws = gaussian(random, OUT * IN);
        float[] other = gaussian(random, OUT * IN);
        Map<String, BiConsumer<CpuBackend, Tensor>> changes = new LinkedHashMap<>();
        changes.put("write", (b, w) -> b.write(w, 5, other, 0, 100));
        changes.put("copy", (b, w) -> b.copy(w, 0, upload(b, "src", other), 0, 200));
        changes.put("add", (b, w) -> b.add(w, upload(b, "src", other), OUT * IN));
        changes.put("scale", (b, w) -> b.scale(w, 1.37f));
        changes.put("zero", CpuBackend::zero);
        changes.put("adamw", (b, w) -> b.adamw(w, upload(b, "grad", other), b.allocate("m", OUT * IN),
                b.allocate("v", OUT * IN), new AdamWStep(0.05f, 0.9f, 0.95f, 1e-8f, 0.1f, 1, 1f)));
        for (Map.Entry<String, BiConsumer<CpuBackend, Tensor>> change : changes.entrySet()) {
            try (CpuBackend backend = new CpuBackend(2, Precision.BF16);
                 CpuBackend fresh = new CpuBackend(2, Precision.BF16)) {
                Tensor x = upload(backend, "x", xs), dy = upload(backend, "dy", dys), w = upload(backend, "w", ws);
                float[][] before = products(backend, x, dy, w);
                change.getValue().accept(backend, w);
                float[] changed = new float[OUT * IN];
                backend.read(w, 0, changed, 0, changed.length);
                assertFalse(Arrays.equals(changed, ws), change.getKey() + " did not change the weight");
                float[][] after = products(backend, x, dy, w);
                float[][] expected = products(fresh, upload(fresh, "x", xs), upload(fresh, "dy", dys),
                        upload(fresh, "w", changed));
                assertFalse(Arrays.equals(before[0], after[0]), change.getKey() + ": the product did not change");
                assertArrayEquals(expected[0], after[0], change.getKey() + ": forward used a stale weight");
                assertArrayEquals(expected[1], after[1], change.getKey() + ": backward-input used a stale weight");
            }
        }
    }
}
