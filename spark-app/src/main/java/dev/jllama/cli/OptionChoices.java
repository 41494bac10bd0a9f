package dev.jllama.cli;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Checks every option that declares {@code completionCandidates}: its value must be one of them. The candidates that
 * shell completion offers are thus also the only values accepted, from one declaration.
 */
final class OptionChoices {
    private OptionChoices() {}

    /** Throws a {@link UsageException} naming the first option whose value is not one of its candidates. */
    static void check(CommandSpec spec) {
        for (OptionSpec option : spec.options()) {
            Iterable<String> declared = option.completionCandidates();
            Object value = option.getValue();
            if (declared == null || value == null) continue;
            List<String> candidates = new ArrayList<>();
            declared.forEach(candidates::add);
            Collection<?> values = value instanceof Collection<?> c ? c : List.of(value);
            for (Object v : values) {
                if (!candidates.contains(v.toString())) {
                    throw new UsageException(option.longestName() + " must be one of " + String.join(", ", candidates)
                            + ", got '" + v + "'");
                }
            }
        }
    }
}
