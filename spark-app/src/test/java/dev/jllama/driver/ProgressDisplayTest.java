package dev.jllama.driver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jllama.rank.ProgressMessage;
import dev.jllama.rank.StepMetrics;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;

/** What the driver shows of rank 0's messages: plain lines off a terminal, a bar with lines above it on one. */
class ProgressDisplayTest {

    private static ProgressMessage.Step step(int step, int steps) {
        return new ProgressMessage.Step(new StepMetrics(step, 256L * step, 8.0 - step * 0.01, 1e-3, 0.5, 1000, 0.25, 0.2,
                0.01, 0.001, 1.7e9 + step), steps, (steps - step) * 0.2);
    }

    private static List<Integer> shownSteps(String output) {
        List<Integer> steps = new ArrayList<>();
        for (String line : output.split("\n")) {
            if (line.startsWith("step ")) steps.add(Integer.parseInt(line.substring(5, line.indexOf('/')).strip()));
        }
        return steps;
    }

    @Test
    void plainLinesAtTheFirstStepEveryLogEveryStepsAndTheLast() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ProgressDisplay display = ProgressDisplay.forOutput(new PrintStream(bytes, true, StandardCharsets.UTF_8), 5)) {
            assertInstanceOf(ProgressDisplay.Lines.class, display, "not standard output on a terminal: plain lines");
            display.line("training on local[2]: 1 rank, one barrier stage");
            for (int s = 1; s <= 12; s++) display.show(step(s, 12));
            display.show(new ProgressMessage.Text("validation loss 5.5500"));
        }
        String output = bytes.toString(StandardCharsets.UTF_8);
        assertEquals(List.of(1, 5, 10, 12), shownSteps(output), output);
        assertTrue(output.startsWith("training on local[2]"), output);
        assertTrue(output.endsWith("validation loss 5.5500\n"), output);
        assertTrue(output.contains(step(5, 12).plainLine() + "\n"), output);
    }

    @Test
    void aResumedOrRetriedAttemptShowsItsFirstStep() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ProgressDisplay display = new ProgressDisplay.Lines(new PrintStream(bytes, true, StandardCharsets.UTF_8), 10)) {
            for (int s = 7; s <= 13; s++) display.show(step(s, 30)); // resumed after step 6
            for (int s = 11; s <= 21; s++) display.show(step(s, 30)); // stage retried from the checkpoint of step 10
        }
        assertEquals(List.of(7, 10, 11, 20), shownSteps(bytes.toString(StandardCharsets.UTF_8)));
    }

    @Test
    void barShowsMfuAfterTheThroughputWhenThereIsOne() {
        Locale before = Locale.getDefault();
        Locale.setDefault(Locale.US);
        try {
            assertEquals("loss 7.9600 | lr 1.00e-03 | gnorm 0.500 | 1,000 tok/s | MFU 25.0% | compute/comm/data "
                    + "0.20/0.01/0.00 s", ProgressDisplay.Bar.metricsText(step(4, 4).metrics()));
            StepMetrics noPeak = new StepMetrics(4, 1024, 7.96, 1e-3, 0.5, 1000, null, 0.2, 0.01, 0.001, 1.7e9);
            assertEquals("loss 7.9600 | lr 1.00e-03 | gnorm 0.500 | 1,000 tok/s | compute/comm/data 0.20/0.01/0.00 s",
                    ProgressDisplay.Bar.metricsText(noPeak));
        } finally {
            Locale.setDefault(before);
        }
    }

    @Test
    void barCarriesTheStepMetricsAndPrintsTextAboveIt() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ProgressDisplay display = new ProgressDisplay.Bar(new PrintStream(bytes, true, StandardCharsets.UTF_8))) {
            display.show(step(1, 4));
            display.show(new ProgressMessage.Text("validation loss 5.5500"));
            display.show(step(4, 4));
        }
        // Off a terminal the width is the library's default of 80 columns: the line is cut there.
        String output = bytes.toString(StandardCharsets.UTF_8);
        assertTrue(output.contains("\r\033[2Kvalidation loss 5.5500\n"), output);
        assertTrue(output.contains("\rtrain 100%") && output.contains("loss 7.9600 | lr 1.00e-03 | gnorm 0.500"), output);
    }
}
