package dev.jllama.model.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.jllama.model.backend.AdamWStep;
import dev.jllama.model.backend.Tensor;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The CPU backend's vectorised AdamW gives the bits of the scalar reference loop, {@link AdamWStep#apply}. */
class CpuAdamWTest {
    @Test
    void vectorLanesEqualTheScalarLoopBitForBit() {
        SplittableRandom random = new SplittableRandom(5);
        int n = 3 * 16384 + 37; // several chunks and a tail shorter than a vector
        float[] p = new float[n], g = new float[n], m = new float[n], v = new float[n];
        for (int i = 0; i < n; i++) {
            p[i] = (float) random.nextGaussian();
            g[i] = (float) (random.nextGaussian() * Math.pow(10, random.nextInt(-6, 2)));
            m[i] = (float) (random.nextGaussian() * 1e-3);
            v[i] = (float) Math.abs(random.nextGaussian() * 1e-6);
        }
        AdamWStep step = new AdamWStep(3e-4f, 0.9f, 0.95f, 1e-8f, 0.1f, 7, 0.83f);
        float[] pr = p.clone(), mr = m.clone(), vr = v.clone();
        step.apply(pr, g, 0, mr, vr, 0, n);
        try (CpuBackend backend = new CpuBackend(3)) {
            Tensor tp = upload(backend, p), tg = upload(backend, g), tm = upload(backend, m), tv = upload(backend, v);
            for (int call = 0; call < 2; call++) { // interpreted or compiled: the same bits
                backend.write(tp, 0, p, 0, n);
                backend.write(tm, 0, m, 0, n);
                backend.write(tv, 0, v, 0, n);
                backend.adamw(tp, tg, tm, tv, step);
                assertArrayEquals(pr, read(backend, tp), "parameters");
                assertArrayEquals(mr, read(backend, tm), "first moments");
                assertArrayEquals(vr, read(backend, tv), "second moments");
            }
        }
    }

    private static Tensor upload(CpuBackend backend, float[] values) {
        Tensor t = backend.allocate("t", values.length);
        backend.write(t, 0, values, 0, values.length);
        return t;
    }

    private static float[] read(CpuBackend backend, Tensor t) {
        float[] out = new float[t.size()];
        backend.read(t, 0, out, 0, out.length);
        return out;
    }
}
