package dev.jllama.model.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The CPU backend's vector arithmetic whose bits never depend on JIT warm-up: dot products, lane sums, axpy, and
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

    static float dot(float[] a, int aAt, float[] b, int bAt, int n) {
        int i = 0;
        FloatVector sum = FloatVector.zero(SPECIES);
        for (int bound = SPECIES.loopBound(n); i < bound; i += SPECIES.length()) {
            sum = FloatVector.fromArray(SPECIES, a, aAt + i).fma(FloatVector.fromArray(SPECIES, b, bAt + i), sum);
        }
        float result = sumLanes(sum);
        for (; i < n; i++) result += a[aAt + i] * b[bAt + i];
        return result;
    }

    /**
     * Sum of the lanes in a fixed order. {@code reduceLanes(ADD)} may add in a different order in interpreted and
     * JIT-compiled code, which would make results depend on warm-up; this keeps every run bit-identical.
     */
    static float sumLanes(FloatVector v) {
        float result = 0f;
        for (int lane = 0; lane < SPECIES.length(); lane++) result += v.lane(lane);
        return result;
    }

    /** y += alpha * x. */
    static void axpy(float alpha, float[] x, int xAt, float[] y, int yAt, int n) {
        int i = 0;
        FloatVector a = FloatVector.broadcast(SPECIES, alpha);
        for (int bound = SPECIES.loopBound(n); i < bound; i += SPECIES.length()) {
            FloatVector.fromArray(SPECIES, x, xAt + i).fma(a, FloatVector.fromArray(SPECIES, y, yAt + i))
                    .intoArray(y, yAt + i);
        }
        for (; i < n; i++) y[yAt + i] = Math.fma(alpha, x[xAt + i], y[yAt + i]);
    }
}
