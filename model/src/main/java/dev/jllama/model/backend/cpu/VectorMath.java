package dev.jllama.model.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * exp(x) from plain IEEE lane operations (multiply, fused multiply-add, conversions, shifts). The Vector API's
 * {@code lanewise(EXP)} may be computed by different routines in interpreted and JIT-compiled code, so its bits
 * depend on warm-up; this one gives identical bits in every mode, in vector lanes and in the scalar tail alike.
 * Relative error below 2e-7 on the clamped range [-87, 88].
 */
final class VectorMath {
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    /** 1.5 * 2^23: adding and subtracting it rounds to the nearest integer. */
    private static final float ROUNDER = 12582912f;
    private static final float MIN = -87f;
    private static final float MAX = 88f;
    // Taylor coefficients 1/k! for k = 2..7 (minimax-like accuracy is not needed at float precision).
    private static final float C2 = 0.5f, C3 = 1.6666667e-1f, C4 = 4.1666668e-2f, C5 = 8.333334e-3f,
            C6 = 1.3888889e-3f, C7 = 1.9841270e-4f;

    private VectorMath() {}

    static FloatVector exp(FloatVector x) {
        x = x.max(MIN).min(MAX);
        FloatVector n = x.fma(FloatVector.broadcast(SPECIES, LOG2E), FloatVector.broadcast(SPECIES, ROUNDER))
                .sub(ROUNDER);
        FloatVector r = n.fma(FloatVector.broadcast(SPECIES, -LN2_HI), x);
        r = n.fma(FloatVector.broadcast(SPECIES, -LN2_LO), r);
        FloatVector p = r.fma(FloatVector.broadcast(SPECIES, C7), FloatVector.broadcast(SPECIES, C6));
        p = p.fma(r, FloatVector.broadcast(SPECIES, C5));
        p = p.fma(r, FloatVector.broadcast(SPECIES, C4));
        p = p.fma(r, FloatVector.broadcast(SPECIES, C3));
        p = p.fma(r, FloatVector.broadcast(SPECIES, C2));
        p = p.fma(r, FloatVector.broadcast(SPECIES, 1f));
        p = p.fma(r, FloatVector.broadcast(SPECIES, 1f));
        IntVector exponent = ((IntVector) n.convert(VectorOperators.F2I, 0)).add(127).lanewise(VectorOperators.LSHL, 23);
        return p.mul(exponent.reinterpretAsFloats());
    }

    static float exp(float x) {
        x = Math.min(Math.max(x, MIN), MAX);
        float n = Math.fma(x, LOG2E, ROUNDER) - ROUNDER;
        float r = Math.fma(n, -LN2_HI, x);
        r = Math.fma(n, -LN2_LO, r);
        float p = Math.fma(r, C7, C6);
        p = Math.fma(p, r, C5);
        p = Math.fma(p, r, C4);
        p = Math.fma(p, r, C3);
        p = Math.fma(p, r, C2);
        p = Math.fma(p, r, 1f);
        p = Math.fma(p, r, 1f);
        return p * Float.intBitsToFloat(((int) n + 127) << 23);
    }
}
