package dev.jllama.cli;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/** A command's options as they stand after parsing (defaults, {@code --config} and the command line together). */
final class ResolvedOptions {
    private ResolvedOptions() {}

    /** How to run the command, not what it does: left out of the record. */
    private static final Set<String> NOT_RECORDED = Set.of("help", "version", "config", "dry-run", "json", "verbose",
            "resume", "overwrite", "allow-change");

    /** Option name without dashes → value, in declaration order; options without a value are left out. */
    static Map<String, Object> of(CommandSpec spec) {
        Map<String, Object> values = new LinkedHashMap<>();
        for (OptionSpec option : spec.options()) {
            String name = option.longestName().substring(2);
            Object value = option.getValue();
            if (NOT_RECORDED.contains(name) || value == null) continue;
            if (value instanceof List<?> list && list.isEmpty()) continue;
            values.put(name, value instanceof java.nio.file.Path p ? p.toString() : value);
        }
        return values;
    }
}
