package dev.jllama.model;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.function.ToDoubleFunction;

/**
 * Central-difference gradient checks for float32 kernels.
 *
 * <p>The function under test is evaluated in float32 (that is what the kernels compute), but each perturbation
 * is the exact difference of two float32 values ({@code (float)(x+h) - (float)(x-h)}, computed in double), and the
 * scalar functional is accumulated in double, so the only errors are (a) truncation, about
 * {@code h^2 |f'''| / 6}, and (b) the float32 rounding of the outputs that the perturbed element influences,
 * about {@code k * 2^-24 * sum|c_i y_i| / (2h)}. Only the influenced outputs matter: the others are recomputed
 * bit-identically (the kernels are deterministic) and cancel exactly in {@code f(x+h) - f(x-h)}.
 */
public final class GradCheck {
    private GradCheck() {}

    /** Result of one comparison over the sampled elements. */
    public record Report(String what, int checked, double relativeError, double maxAbsError, double maxAbsGradient) {
        @Override
        public String toString() {
            return String.format("%-44s n=%4d  rel(||fd-an||/||an||)=%.3e  max|fd-an|=%.3e  max|an|=%.3e",
                    what, checked, relativeError, maxAbsError, maxAbsGradient);
        }
    }

    /**
     * Compares {@code analytic[i]} with the central difference of {@code f} at {@code x[i]} for each sampled
     * {@code i}. {@code f} must read {@code x} (which is perturbed in place and restored).
     */
    public static Report check(String what, float[] x, int[] indices, double h, ToDoubleFunction<float[]> f,
                               float[] analytic) {
        double[] numeric = new double[indices.length];
        double[] exact = new double[indices.length];
        for (int n = 0; n < indices.length; n++) {
            int i = indices[n];
            float saved = x[i];
            float plus = (float) (saved + h);
            float minus = (float) (saved - h);
            x[i] = plus;
            double fPlus = f.applyAsDouble(x);
            x[i] = minus;
            double fMinus = f.applyAsDouble(x);
            x[i] = saved;
            numeric[n] = (fPlus - fMinus) / ((double) plus - (double) minus);
            exact[n] = analytic[i];
        }
        return compare(what, numeric, exact);
    }

    public static Report compare(String what, double[] numeric, double[] analytic) {
        double diff2 = 0, ref2 = 0, maxDiff = 0, maxRef = 0;
        for (int n = 0; n < numeric.length; n++) {
            double d = numeric[n] - analytic[n];
            diff2 += d * d;
            ref2 += analytic[n] * analytic[n];
            maxDiff = Math.max(maxDiff, Math.abs(d));
            maxRef = Math.max(maxRef, Math.abs(analytic[n]));
        }
        return new Report(what, numeric.length, Math.sqrt(diff2 / ref2), maxDiff, maxRef);
    }

    /** Fails unless the relative error is below {@code tolerance}; also fails on an all-zero gradient sample. */
    public static void assertClose(Report report, double tolerance) {
        System.out.println("gradcheck " + report);
        assertTrue(report.maxAbsGradient() > 0, report.what() + ": the sampled analytic gradient is all zero, "
                + "so the check would be vacuous");
        assertTrue(report.relativeError() <= tolerance, report.what() + ": relative error "
                + report.relativeError() + " exceeds " + tolerance + " (" + report + ")");
    }

    /**
     * {@code count} distinct indices of {@code [0, n)}, always including the first and the last element (the edges
     * where blocking and tails go wrong), the rest uniformly at random.
     */
    public static int[] sample(int n, int count, SplittableRandom random) {
        if (count >= n) {
            int[] all = new int[n];
            for (int i = 0; i < n; i++) all[i] = i;
            return all;
        }
        java.util.LinkedHashSet<Integer> chosen = new java.util.LinkedHashSet<>();
        chosen.add(0);
        chosen.add(n - 1);
        while (chosen.size() < count) chosen.add(random.nextInt(n));
        return chosen.stream().mapToInt(Integer::intValue).toArray();
    }

    public static float[] normal(int n, double std, SplittableRandom random) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) out[i] = (float) (gaussian(random) * std);
        return out;
    }

    public static double gaussian(SplittableRandom random) {
        double u1 = 1.0 - random.nextDouble();
        double u2 = random.nextDouble();
        return Math.sqrt(-2.0 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    }

    /** Sum of {@code c[i] * y[i]} in double: the random linear functional whose gradient is {@code c}. */
    public static double dot(float[] c, float[] y) {
        double s = 0;
        for (int i = 0; i < c.length; i++) s += (double) c[i] * y[i];
        return s;
    }

    /** Norm-wise relative error {@code ||actual - expected|| / ||expected||}, in double. */
    public static double relativeError(float[] actual, float[] expected) {
        double diff2 = 0, ref2 = 0;
        for (int i = 0; i < expected.length; i++) {
            double d = (double) actual[i] - expected[i];
            diff2 += d * d;
            ref2 += (double) expected[i] * expected[i];
        }
        return Math.sqrt(diff2 / ref2);
    }

    public static float[] minus(float[] a, float[] b) {
        float[] out = Arrays.copyOf(a, a.length);
        for (int i = 0; i < a.length; i++) out[i] -= b[i];
        return out;
    }
}
