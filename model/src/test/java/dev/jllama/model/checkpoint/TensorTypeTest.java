package dev.jllama.model.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class TensorTypeTest {

    @Test
    void bfloat16RoundsToNearestEven() {
        // 1 + 2^-8 lies halfway between bfloat16 neighbours 1 and 1 + 2^-7: ties go to the even one, 1.
        assertEquals(0x3F80, TensorType.BF16.encode(1f + 0x1p-8f));
        // 1 + 3 * 2^-8 lies halfway between 1 + 2^-7 (odd) and 1 + 2^-6 (even): up.
        assertEquals(0x3F82, TensorType.BF16.encode(1f + 3 * 0x1p-8f));
        assertEquals(0x3F81, TensorType.BF16.encode(1f + 0x1p-8f + 0x1p-20f), "above the tie rounds up");
        assertEquals(0x7F80, TensorType.BF16.encode(Float.MAX_VALUE), "overflows to infinity");
        assertEquals(0x8000, TensorType.BF16.encode(-0f));
        assertEquals(0x7FC0, TensorType.BF16.encode(Float.NaN));
    }

    @Test
    void everyTypeRoundsToTheNearestRepresentableValue() {
        SplittableRandom random = new SplittableRandom(11);
        for (TensorType type : new TensorType[] {TensorType.F16, TensorType.BF16}) {
            for (int i = 0; i < 100_000; i++) {
                float x = (float) (random.nextGaussian() * Math.pow(2, random.nextInt(-20, 12)));
                int bits = type.encode(x);
                float rounded = type.decode(bits);
                // Neighbours of the result in this type: neither may be closer to x.
                float up = type.decode(bits + 1), down = type.decode(bits - 1);
                double error = Math.abs((double) rounded - x);
                assertTrue(error <= distance(up, x) && error <= distance(down, x),
                        type + " rounded " + x + " to " + rounded);
            }
        }
    }

    /** How far a neighbour is; a bit pattern past the last finite value or zero's sign flip counts as far away. */
    private static double distance(float neighbour, float x) {
        return Float.isNaN(neighbour) ? Double.POSITIVE_INFINITY : Math.abs((double) neighbour - x);
    }

    @Test
    void float16AgreesWithKnownValues() {
        assertEquals(0x3C00, TensorType.F16.encode(1f));
        assertEquals(0x7BFF, TensorType.F16.encode(65504f));
        assertEquals(0x7C00, TensorType.F16.encode(65520f), "halfway past the largest half rounds to infinity");
        assertEquals(0x0001, TensorType.F16.encode(0x1p-24f), "smallest subnormal");
        assertEquals(1f / 3, TensorType.F32.decode(TensorType.F32.encode(1f / 3)));
    }

    @Test
    void namesAreParsedAndUnknownOnesRefused() {
        assertEquals(TensorType.BF16, TensorType.parse("bf16"));
        assertEquals(TensorType.F16, TensorType.ofSafetensors("F16"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TensorType.parse("f8"));
        assertTrue(e.getMessage().contains("'f8'") && e.getMessage().contains("f32, f16 or bf16"), e.getMessage());
    }
}
