package dev.jllama.rank;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Locale;
import org.junit.jupiter.api.Test;

/** The progress messages rank 0 sends the driver: their JSON round trip and the plain line they print as. */
class ProgressMessageTest {
    private static final StepMetrics METRICS = new StepMetrics(3, 6144, 2.5, 3e-4, 0.125, 1234.4, 0.123456, 0.5, 0.25, 0.125,
            1.7e9 + 0.123);

    @Test
    void stepSurvivesTheWireExactly() {
        ProgressMessage.Step step = new ProgressMessage.Step(new StepMetrics(7, 1L << 40, 8.326999180018902,
                3.091282170483769E-4, 0.8495498842218059, 40.42830386918337, 0.0123456789012345, 6.171770939, 1e-9, 3.0217999999998524E-5,
                1.796095547959E9), 300, 184.25);
        String line = step.encode();
        assertTrue(!line.contains("\n"), "one message, one line: " + line);
        assertEquals(step, ProgressMessage.decode(line));
        ProgressMessage.Step unknownEta = new ProgressMessage.Step(METRICS, 10, Double.NaN);
        assertEquals(unknownEta, ProgressMessage.decode(unknownEta.encode()));
        ProgressMessage.Step noPeak = new ProgressMessage.Step(new StepMetrics(3, 6144, 2.5, 3e-4, 0.125, 1234.4, null,
                0.5, 0.25, 0.125, 1.7e9), 10, 1);
        assertTrue(noPeak.encode().contains("\"mfu\":null"), "MFU absent is JSON null: " + noPeak.encode());
        assertEquals(noPeak, ProgressMessage.decode(noPeak.encode()));
    }

    @Test
    void textSurvivesTheWire() {
        ProgressMessage.Text text = new ProgressMessage.Text("resuming from \"hdfs://nn/run\"\tat step 6 — ok");
        assertEquals(text, ProgressMessage.decode(text.encode()));
    }

    @Test
    void plainLineKeepsTheStepPrefixAndShowsTheTimeSplitAndEta() {
        Locale before = Locale.getDefault();
        Locale.setDefault(Locale.US);
        try {
            assertEquals("step     3/10 | loss 2.5000 | lr 3.000e-04 | grad norm 0.125 | 1,234 tokens/s | MFU 12.3% | "
                    + "compute 0.500 s, all-reduce wait 0.250 s, data wait 0.125 s | ETA 1:01:05",
                    new ProgressMessage.Step(METRICS, 10, 3665).plainLine());
            StepMetrics withoutPeak = new StepMetrics(3, 6144, 2.5, 3e-4, 0.125, 1234.4, null, 0.5, 0.25, 0.125, 1.7e9);
            assertEquals("step     3/10 | loss 2.5000 | lr 3.000e-04 | grad norm 0.125 | 1,234 tokens/s | "
                    + "compute 0.500 s, all-reduce wait 0.250 s, data wait 0.125 s | ETA 1:01:05",
                    new ProgressMessage.Step(withoutPeak, 10, 3665).plainLine(), "no MFU without a peak");
            StepMetrics lowMfu = new StepMetrics(3, 6144, 2.5, 3e-4, 0.125, 1234.4, 0.0123, 0.5, 0.25, 0.125, 1.7e9);
            assertTrue(new ProgressMessage.Step(lowMfu, 10, 1).plainLine().contains("| MFU 1.23% |"));
            assertTrue(new ProgressMessage.Step(METRICS, 10, Double.NaN).plainLine().endsWith("| ETA ?"));
        } finally {
            Locale.setDefault(before);
        }
    }

    @Test
    void malformedMessagesNameWhatIsWrong() {
        assertEquals("progress message: missing field 'metrics' in {\"kind\":\"step\",\"steps\":10}",
                assertThrows(IllegalArgumentException.class,
                        () -> ProgressMessage.decode("{\"kind\":\"step\",\"steps\":10}")).getMessage());
        assertEquals("progress message: field 'kind' is 'chart', expected 'text' or 'step'",
                assertThrows(IllegalArgumentException.class,
                        () -> ProgressMessage.decode("{\"kind\":\"chart\"}")).getMessage());
        String notJson = assertThrows(IllegalArgumentException.class,
                () -> ProgressMessage.decode("step 3/10 | loss 2.5")).getMessage();
        assertTrue(notJson.startsWith("progress message is not JSON"), notJson);
        String badLoss = assertThrows(IllegalArgumentException.class, () -> ProgressMessage.decode(
                new ProgressMessage.Step(METRICS, 10, 1).encode().replace("\"loss\":2.5", "\"loss\":\"low\""))).getMessage();
        assertEquals("progress message: field 'loss' is \"low\", not a number", badLoss);
    }
}
