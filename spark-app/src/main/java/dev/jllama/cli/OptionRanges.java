package dev.jllama.cli;

import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/** Checks and describes the {@link Range} of every option of a command. */
final class OptionRanges {
    private OptionRanges() {}

    /** The option's declared range, or null when it has none. */
    static Range of(OptionSpec option) {
        return option.userObject() instanceof Field field ? field.getAnnotation(Range.class) : null;
    }

    /** Throws a {@link UsageException} naming the first option whose value lies outside its range. */
    static void check(CommandSpec spec) {
        for (OptionSpec option : spec.options()) {
            Range range = of(option);
            if (range == null) continue;
            Object value = option.getValue();
            Collection<?> values = value instanceof Collection<?> c ? c : value == null ? List.of() : List.of(value);
            for (Object v : values) {
                double x = ((Number) v).doubleValue();
                if (!contains(range, x)) {
                    throw new UsageException(option.longestName() + " must be " + describe(range) + ", got " + v);
                }
            }
        }
    }

    static boolean contains(Range r, double x) {
        boolean aboveMin = r.minExclusive() ? x > r.min() : x >= r.min();
        boolean belowMax = r.maxExclusive() ? x < r.max() : x <= r.max();
        return aboveMin && belowMax;
    }

    /** "at least 1", "greater than 0 and at most 1", "from 0 to 1", ... */
    static String describe(Range r) {
        boolean hasMin = r.min() != Double.NEGATIVE_INFINITY, hasMax = r.max() != Double.POSITIVE_INFINITY;
        String min = format(r.min()), max = format(r.max());
        if (hasMin && hasMax && !r.minExclusive() && !r.maxExclusive()) return "from " + min + " to " + max;
        String lower = r.minExclusive() ? "greater than " + min : "at least " + min;
        String upper = r.maxExclusive() ? "less than " + max : "at most " + max;
        if (hasMin && hasMax) return lower + " and " + upper;
        return hasMin ? lower : hasMax ? upper : "any number";
    }

    private static String format(double x) {
        return x == Math.rint(x) && Math.abs(x) < 1e15 ? Long.toString((long) x) : Double.toString(x);
    }

    /**
     * Appends "(RANGE)" to the help line of every option that declares one, so the help text and the check come
     * from the same declaration. Options are re-added in their order; picocli's specs are otherwise immutable.
     */
    static void describeInHelp(CommandSpec spec) {
        List<OptionSpec> options = new ArrayList<>(spec.options());
        for (OptionSpec option : options) spec.remove(option);
        for (OptionSpec option : options) {
            Range range = of(option);
            if (range == null) {
                spec.addOption(option);
                continue;
            }
            String[] description = option.description().clone();
            int last = description.length - 1;
            description[last] = description[last] + " (" + describe(range) + ")";
            spec.addOption(option.toBuilder().description(description).build());
        }
    }
}
