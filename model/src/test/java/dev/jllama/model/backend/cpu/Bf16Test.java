package dev.jllama.model.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigDecimal;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** fp32 to bf16 rounding against a reference that decides each rounding by exact decimal arithmetic. */
class Bf16Test {

    /**
     * The nearest bf16 to {@code x} found the slow way: the two bf16 numbers around it (fp32 bit patterns with the
     * low half cleared, and the next one up in magnitude), compared by their exact distances to {@code x}; a tie
     * goes to the one whose last kept bit is 0. Infinity when the nearer one is past the largest finite bf16.
     */
    private static int referenceBits(float x) {
        if (Float.isNaN(x)) return 0x7FC00000;
        if (Float.isInfinite(x)) return Float.floatToRawIntBits(x);
        int bits = Float.floatToRawIntBits(x);
        int below = bits & 0xFFFF0000, above = below + 0x10000; // toward zero, and away from zero
        if (below == bits) return bits;
        BigDecimal exact = new BigDecimal(x);
        BigDecimal low = new BigDecimal(Float.intBitsToFloat(below));
        // The next bf16 away from zero may be infinity: its "distance" is then that of the value 2^128 it rounds at.
        BigDecimal high = (above & 0x7F800000) == 0x7F800000
                ? new BigDecimal(2).pow(128).multiply(BigDecimal.valueOf(Math.signum(x)))
                : new BigDecimal(Float.intBitsToFloat(above));
        int order = exact.subtract(low).abs().compareTo(high.subtract(exact).abs());
        if (order < 0) return below;
        if (order > 0) return above;
        return (below & 0x10000) == 0 ? below : above;
    }

    private static void check(float x) {
        int expected = referenceBits(x);
        assertEquals(Integer.toHexString(expected), Integer.toHexString(Bf16.roundBits(x)),
                "bits of " + x + " (" + Integer.toHexString(Float.floatToRawIntBits(x)) + ")");
    }

    @Test
    void scalarRoundingIsNearestWithTiesToEven() {
        float[] edges = {0f, -0f, 1f, -1f, Float.MIN_VALUE, -Float.MIN_VALUE, Float.MIN_NORMAL, Float.MAX_VALUE,
                -Float.MAX_VALUE, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN,
                Float.intBitsToFloat(0x3F808000), // 1 + 2^-8: a tie, rounds down to the even 1
                Float.intBitsToFloat(0x3F818000), // a tie whose lower neighbour is odd: rounds up
                Float.intBitsToFloat(0x3F808001), // just above a tie: rounds up
                Float.intBitsToFloat(0x7F7F8000), // a tie at the top: to infinity
                Float.intBitsToFloat(0x7F7F7FFF), // just below it: stays finite
                Float.intBitsToFloat(0x00008000), Float.intBitsToFloat(0x80018000)}; // subnormal ties
        for (float x : edges) check(x);
        SplittableRandom random = new SplittableRandom(11);
        for (int i = 0; i < 200_000; i++) check(Float.intBitsToFloat(random.nextInt()));
        // Ties in every binade: the low half exactly 0x8000.
        for (int i = 0; i < 20_000; i++) check(Float.intBitsToFloat((random.nextInt() & 0xFFFF0000) | 0x8000));
    }

    @Test
    void vectorLanesRoundAsTheScalarDoes() {
        SplittableRandom random = new SplittableRandom(5);
        int n = 10_003; // not a multiple of any lane count: the scalar tail runs too
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = switch (i % 4) {
                case 0 -> Float.intBitsToFloat(random.nextInt());
                case 1 -> Float.intBitsToFloat((random.nextInt() & 0xFFFF0000) | 0x8000);
                case 2 -> (float) random.nextGaussian();
                default -> i % 8 == 3 ? Float.NaN : Float.NEGATIVE_INFINITY;
            };
        }
        float[] rounded = new float[n + 3];
        short[] bits = new short[n + 1];
        Bf16.round(x, 0, rounded, 3, n);
        Bf16.toBits(x, 0, bits, 1, n);
        for (int i = 0; i < n; i++) {
            int expected = referenceBits(x[i]);
            assertEquals(expected, Float.floatToRawIntBits(rounded[3 + i]), "rounded lane " + i);
            assertEquals(expected >>> 16, bits[1 + i] & 0xFFFF, "bits lane " + i);
        }
        assertEquals(0, bits[0]);
        assertTrue(Float.isNaN(rounded[3 + 3]), "NaN stays NaN");
    }

    @Test
    void bitsExpandBackToTheRoundedValuesExactly() {
        SplittableRandom random = new SplittableRandom(9);
        int n = 10_003;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (random.nextGaussian() * Math.pow(10, random.nextInt(-30, 30)));
        x[0] = -0f;
        x[1] = Float.NEGATIVE_INFINITY;
        x[2] = Float.MIN_VALUE;
        short[] bits = new short[n];
        Bf16.toBits(x, 0, bits, 0, n);
        float[] expanded = new float[n + 1];
        Bf16.toFloats(bits, 0, expanded, 1, n);
        for (int i = 0; i < n; i++) {
            assertEquals(Float.floatToRawIntBits(Bf16.round(x[i])), Float.floatToRawIntBits(expanded[i + 1]),
                    "element " + i + " (" + x[i] + ")");
        }
    }
}
