package dev.jllama.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * {@code --config FILE}: a YAML mapping from option names (without the dashes) to values, turned into the
 * command-line arguments it stands for, so that a file value goes through the same parsing, types and ranges as
 * one typed on the command line. A value given on the command line wins over the file's. Lists give repeated
 * options ({@code input: [a.txt, b.txt]}); a mapping gives {@code key=value} pairs ({@code conf: {spark.x: 1}});
 * {@code true} gives a flag, {@code false} leaves it out.
 */
final class ConfigFile {
    private ConfigFile() {}

    /** Options a file may not set: they choose the file or say how to run the command, not what it does. */
    private static final Set<String> NOT_IN_FILE = Set.of("--config", "--help", "--version", "--dry-run");

    /**
     * The file's settings as arguments for {@code spec}'s command, leaving out the options in {@code given}.
     *
     * @throws UsageException naming the file and key for an unknown option or a value of the wrong shape
     */
    static List<String> arguments(Path file, CommandSpec spec, Set<String> given) {
        JsonNode root;
        try {
            root = new ObjectMapper(new YAMLFactory()).readTree(Files.readString(file));
        } catch (java.nio.file.NoSuchFileException e) {
            throw new UsageException("--config " + file + " does not exist");
        } catch (IOException e) {
            throw new UsageException("--config " + file + " is not valid YAML: " + e.getMessage().lines().findFirst()
                    .orElse(""));
        }
        if (root == null || root.isMissingNode() || root.isNull()) return List.of();
        if (!root.isObject()) throw new UsageException("--config " + file + " must be a mapping of option: value");
        List<String> args = new ArrayList<>();
        for (Map.Entry<String, JsonNode> entry : root.properties()) {
            String name = "--" + entry.getKey();
            OptionSpec option = spec.findOption(name);
            if (option == null || NOT_IN_FILE.contains(name)) {
                throw new UsageException("--config " + file + ": '" + entry.getKey() + "' is not an option of llama "
                        + spec.name() + " (see llama " + spec.name() + " --help)");
            }
            if (given.contains(option.longestName())) continue;
            append(args, option, entry.getValue(), file);
        }
        return args;
    }

    private static void append(List<String> args, OptionSpec option, JsonNode value, Path file) {
        String name = option.longestName();
        if (option.arity().max() == 0) { // a flag
            if (!value.isBoolean()) throw shape(file, name, "true or false", value);
            if (value.booleanValue()) args.add(name);
        } else if (value.isArray()) {
            if (!option.isMultiValue()) throw shape(file, name, "one value", value);
            for (JsonNode item : value) args.addAll(List.of(name, scalar(item, file, name)));
        } else if (value.isObject()) {
            if (!option.isMultiValue()) throw shape(file, name, "one value", value);
            for (Map.Entry<String, JsonNode> kv : value.properties()) {
                args.addAll(List.of(name, kv.getKey() + "=" + scalar(kv.getValue(), file, name)));
            }
        } else {
            args.addAll(List.of(name, scalar(value, file, name)));
        }
    }

    private static String scalar(JsonNode value, Path file, String name) {
        if (!value.isValueNode() || value.isNull()) throw shape(file, name, "a number, a word or a path", value);
        return value.asText();
    }

    private static UsageException shape(Path file, String name, String expected, JsonNode got) {
        return new UsageException("--config " + file + ": " + name.substring(2) + " takes " + expected + ", got " + got);
    }
}
