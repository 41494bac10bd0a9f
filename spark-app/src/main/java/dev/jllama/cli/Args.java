package dev.jllama.cli;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Parsed {@code --name value} options of one command. An option may repeat or take several values
 * ({@code --input a b c}); a bare {@code --flag} has no value. Every option a command reads is marked as
 * used, and {@link #checkAllUsed()} rejects the rest so that typos never pass silently.
 */
public final class Args {
    private final Map<String, List<String>> options = new LinkedHashMap<>();
    private final Set<String> used = new HashSet<>();

    public static Args parse(String[] argv, int from) {
        Args args = new Args();
        String current = null;
        for (int i = from; i < argv.length; i++) {
            String word = argv[i];
            if (word.startsWith("--") && word.length() > 2 && !isNumber(word)) {
                String name = word.substring(2);
                String inlineValue = null;
                int eq = name.indexOf('=');
                if (eq > 0) {
                    inlineValue = name.substring(eq + 1);
                    name = name.substring(0, eq);
                }
                current = name;
                args.options.computeIfAbsent(name, k -> new ArrayList<>());
                if (inlineValue != null) {
                    args.options.get(name).add(inlineValue);
                    current = null;
                }
            } else if (current != null) {
                args.options.get(current).add(word);
            } else {
                throw new UsageException("unexpected argument '" + word + "' (options start with --)");
            }
        }
        return args;
    }

    private static boolean isNumber(String word) {
        try {
            Double.parseDouble(word);
            return true;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    public boolean has(String name) {
        used.add(name);
        return options.containsKey(name);
    }

    public boolean flag(String name) {
        used.add(name);
        List<String> values = options.get(name);
        if (values == null) return false;
        if (!values.isEmpty()) {
            throw new UsageException("--" + name + " takes no value, got '" + values.get(0) + "'");
        }
        return true;
    }

    public boolean json() {
        return flag("json");
    }

    /** All values of a repeatable option, in order; empty if absent. */
    public List<String> list(String name) {
        used.add(name);
        return options.getOrDefault(name, List.of());
    }

    public String string(String name, String fallback) {
        used.add(name);
        List<String> values = options.get(name);
        if (values == null) return fallback;
        if (values.size() != 1) {
            throw new UsageException("--" + name + " needs exactly one value, got " + values.size());
        }
        return values.get(0);
    }

    public String required(String name) {
        String value = string(name, null);
        if (value == null) throw new UsageException("missing required option --" + name);
        return value;
    }

    public int integer(String name, int fallback) {
        String value = string(name, null);
        if (value == null) return fallback;
        try {
            return Integer.parseInt(value.replace("_", ""));
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " must be an integer, got '" + value + "'");
        }
    }

    public long longValue(String name, long fallback) {
        String value = string(name, null);
        if (value == null) return fallback;
        try {
            return Long.parseLong(value.replace("_", ""));
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " must be an integer, got '" + value + "'");
        }
    }

    public double number(String name, double fallback) {
        String value = string(name, null);
        if (value == null) return fallback;
        try {
            return Double.parseDouble(value);
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " must be a number, got '" + value + "'");
        }
    }

    /** Rejects options no one asked for; call after the command has read all of its options. */
    public void checkAllUsed() {
        for (String name : options.keySet()) {
            if (!used.contains(name)) throw new UsageException("unknown option --" + name);
        }
    }
}
