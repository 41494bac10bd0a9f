package dev.jllama.model.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** LLaMA's schedule: linear warm-up, cosine decay to 10 % of the peak, then constant at that floor. */
class LrScheduleTest {
    private static final double PEAK = 3e-4;
    private final LrSchedule llama = new LrSchedule(PEAK, 100, 1100, 0.1);

    @Test
    void warmsUpLinearlyToThePeak() {
        assertEquals(PEAK / 100, llama.at(0), 1e-18);
        assertEquals(PEAK * 50 / 100, llama.at(49), 1e-18);
        assertEquals(PEAK, llama.at(99), 1e-18);
        assertEquals(PEAK, llama.at(100), 1e-18, "decay starts at the peak");
    }

    @Test
    void decaysAlongACosineToTenPercentOfThePeak() {
        double floor = 0.1 * PEAK;
        // Half-way through the decay the cosine is at 0: the middle of peak and floor.
        assertEquals((PEAK + floor) / 2, llama.at(600), 1e-15);
        assertEquals(floor + (PEAK - floor) * 0.5 * (1 + Math.cos(Math.PI * 0.25)), llama.at(350), 1e-15);
        assertEquals(floor + (PEAK - floor) * 0.5 * (1 + Math.cos(Math.PI * 0.999)), llama.at(1099), 1e-15);
        for (int step = 100; step < 1099; step++) {
            assertTrue(llama.at(step + 1) < llama.at(step), "decreasing at step " + step);
        }
    }

    @Test
    void staysAtTheFloorFromTheLastStepOn() {
        assertEquals(0.1 * PEAK, llama.at(1100), 1e-18);
        assertEquals(0.1 * PEAK, llama.at(5000), 1e-18);
        assertEquals(0.0, new LrSchedule(PEAK, 10, 20, 0).at(25), 0.0);
    }

    @Test
    void withoutWarmUpDecayStartsAtThePeak() {
        LrSchedule s = new LrSchedule(1.0, 0, 10, 0.1);
        assertEquals(1.0, s.at(0), 1e-15);
        assertEquals(0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * 0.5)), s.at(5), 1e-15);
        // Warm-up as long as the run: no decay step at all, the floor right after it.
        LrSchedule allWarmUp = new LrSchedule(1.0, 10, 10, 0.1);
        assertEquals(1.0, allWarmUp.at(9), 1e-15);
        assertEquals(0.1, allWarmUp.at(10), 1e-15);
    }

    @Test
    void rejectsMeaninglessSettings() {
        assertThrows(IllegalArgumentException.class, () -> new LrSchedule(0, 1, 10, 0.1));
        assertThrows(IllegalArgumentException.class, () -> new LrSchedule(1e-3, -1, 10, 0.1));
        assertThrows(IllegalArgumentException.class, () -> new LrSchedule(1e-3, 1, 0, 0.1));
    }
}
