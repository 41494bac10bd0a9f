package dev.jllama.model.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

class VectorMathTest {

    @Test
    void expIsAccurateAndLanesEqualTheScalarPath() {
        SplittableRandom random = new SplittableRandom(5);
        int lanes = FloatVector.SPECIES_PREFERRED.length();
        float[] x = new float[lanes];
        float[] y = new float[lanes];
        double worst = 0;
        for (int trial = 0; trial < 20_000; trial++) {
            for (int i = 0; i < lanes; i++) x[i] = (float) (random.nextDouble() * 175 - 87);
            VectorMath.exp(FloatVector.fromArray(FloatVector.SPECIES_PREFERRED, x, 0)).intoArray(y, 0);
            for (int i = 0; i < lanes; i++) {
                assertEquals(Float.floatToIntBits(VectorMath.exp(x[i])), Float.floatToIntBits(y[i]),
                        "vector lane and scalar path differ at x = " + x[i]);
                double exact = Math.exp(x[i]);
                worst = Math.max(worst, Math.abs(y[i] - exact) / exact);
            }
        }
        assertTrue(worst < 4e-7, "worst relative error " + worst);
        assertEquals(1f, VectorMath.exp(0f));
        assertTrue(VectorMath.exp(-1000f) < 1e-37f && VectorMath.exp(-1000f) >= 0f);
    }
}
