package dev.jllama.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Every numeric option of every command, given a value outside its declared range and a value of the wrong type:
 * exit status 2, one line on standard error naming the option (and, for a range, the range), and nothing created;
 * likewise every option with a list of accepted values, given one that is not among them
 * where the command would write. The table is built from the commands themselves, so a new option is covered as
 * soon as it exists, and a numeric option without a declared range fails the test.
 */
class BadInputTest {
    @TempDir
    static Path work;

    /** Arguments each command needs besides the option under test; every output goes under {@code work/out}. */
    private static Map<String, List<String>> required() {
        String out = work.resolve("out").toString(), missing = work.resolve("missing").toString();
        return Map.of(
                "train", List.of("--out", out + "/run"),
                "bench", List.of(),
                "tokenize", List.of("--text", "hello"),
                "prepare", List.of("--input", missing, "--output", out + "/dataset"),
                "generate", List.of("--checkpoint", missing, "--prompt", "hello"),
                "eval", List.of("--checkpoint", missing, "--data", missing),
                "eval-task", List.of("--data", missing, "--out", out + "/task.jsonl"),
                "export", List.of("--checkpoint", missing, "--format", "hf", "--out", out + "/export"),
                "import", List.of("--hf", missing, "--out", out + "/imported"),
                "train-classifier", List.of("--positive", missing, "--negative", missing, "--out", out + "/model"));
    }

    /** Numeric options whose every value is valid (any long seeds a generator): only the wrong type is bad. */
    private static final List<String> UNBOUNDED = List.of("--seed");

    @TestFactory
    Stream<DynamicTest> everyNumericOptionRejectsBadValuesBeforeAnyWork() {
        List<DynamicTest> cases = new ArrayList<>();
        CommandLine cli = Main.commandLine();
        for (var entry : required().entrySet()) {
            String command = entry.getKey();
            for (OptionSpec option : cli.getSubcommands().get(command).getCommandSpec().options()) {
                if (option.completionCandidates() != null) {
                    cases.add(DynamicTest.dynamicTest(command + " " + option.longestName() + " no-such-choice", () ->
                            rejected(command, entry.getValue(), option.longestName(), "no-such-choice", "must be one of")));
                }
                if (!isNumeric(option)) continue;
                String name = option.longestName();
                Range range = OptionRanges.of(option);
                if (range == null) {
                    cases.add(DynamicTest.dynamicTest(command + " " + name + " declares a range", () ->
                            assertTrue(UNBOUNDED.contains(name), "llama " + command + " " + name + " has no @Range")));
                } else {
                    for (String value : outside(range, isInteger(option))) {
                        cases.add(DynamicTest.dynamicTest(command + " " + name + " " + value, () ->
                                rejected(command, entry.getValue(), name, value, OptionRanges.describe(range))));
                    }
                }
                cases.add(DynamicTest.dynamicTest(command + " " + name + " not-a-number", () ->
                        rejected(command, entry.getValue(), name, "not-a-number", "'not-a-number'")));
            }
            cases.add(DynamicTest.dynamicTest(command + " --no-such-option", () ->
                    rejected(command, entry.getValue(), "--no-such-option", "1", "Unknown option")));
        }
        assertTrue(cases.size() > 60, "the table covers " + cases.size() + " cases");
        return cases.stream();
    }

    /** A malformed --data spec (a mixture part's weight, an empty source) is a usage error, before any work. */
    @Test
    void malformedDataSpecsAreUsageErrors() throws IOException {
        String dir = work.resolve("missing").toString();
        rejected("train", required().get("train"), "--data", "a=" + dir + ":heavy,b=" + dir + ":1", "weight 'heavy'");
        rejected("train", required().get("train"), "--data", dir + "#", "empty SOURCE");
    }

    private static void rejected(String command, List<String> required, String option, String value, String says)
            throws IOException {
        List<String> argv = new ArrayList<>(List.of(command));
        argv.addAll(required);
        int given = argv.indexOf(option); // a required option under test: its value replaced, not given twice
        if (given > 0) argv.set(given + 1, value);
        else argv.addAll(List.of(option, value));
        CommandLineRun run = CommandLineRun.of(argv.toArray(String[]::new));
        String why = String.join(" ", argv) + "\nstdout: " + run.out() + "\nstderr: " + run.err();
        assertEquals(2, run.status(), why);
        assertEquals(1, run.err().lines().count(), "one line on standard error: " + why);
        assertTrue(run.err().startsWith("llama " + command + ": "), why);
        assertTrue(run.err().contains(option), "names the option: " + why);
        assertTrue(run.err().contains(says), "says " + says + ": " + why);
        assertFalse(Files.exists(work.resolve("out")), "created output: " + why);
    }

    /** Values just outside the range: below its minimum, above its maximum. */
    static List<String> outside(Range range, boolean integer) {
        List<String> values = new ArrayList<>();
        double step = integer ? 1 : 0.5;
        if (range.min() != Double.NEGATIVE_INFINITY) {
            values.add(number(range.minExclusive() ? range.min() : range.min() - step, integer));
        }
        if (range.max() != Double.POSITIVE_INFINITY) {
            values.add(number(range.maxExclusive() ? range.max() : range.max() + step, integer));
        }
        assertFalse(values.isEmpty(), "a range with no bound");
        for (String v : values) assertFalse(OptionRanges.contains(range, Double.parseDouble(v)), v);
        return values;
    }

    private static String number(double x, boolean integer) {
        return integer ? Long.toString((long) x) : Double.toString(x);
    }

    private static boolean isNumeric(OptionSpec option) {
        Class<?> type = elementType(option);
        return type != null && (Number.class.isAssignableFrom(type) || type == int.class || type == long.class
                || type == double.class || type == float.class);
    }

    private static boolean isInteger(OptionSpec option) {
        Class<?> type = elementType(option);
        return type == int.class || type == long.class || type == Integer.class || type == Long.class;
    }

    private static Class<?> elementType(OptionSpec option) {
        if (!option.isMultiValue()) return option.type();
        Class<?>[] aux = option.auxiliaryTypes();
        assertNotNull(aux);
        return aux.length > 0 ? aux[0] : null;
    }
}
