package dev.jllama.data.mixture;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Parses the two mixture forms of {@code --data}: {@code NAME=DIR[#SOURCE]:WEIGHT,...} and a JSON mixture file
 * {@code {"datasets":[{"name":..,"path":..,"source":..,"weight":..}]}} ({@code source} optional). Malformed specs
 * are IllegalArgumentExceptions naming the part or field and its value.
 */
final class DataSpec {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> ENTRY_FIELDS = Set.of("name", "path", "source", "weight");

    private DataSpec() {}

    /**
     * Whether {@code spec} is the NAME=DIR:WEIGHT list form: the text before its first '=' is a plain name. A path
     * such as /warehouse/t/dt=2024-01-01 is not, since a name holds no '/'.
     */
    static boolean isList(String spec) {
        int eq = spec.indexOf('=');
        return eq > 0 && MixtureComponent.NAME.matcher(spec.substring(0, eq)).matches();
    }

    /**
     * Parses {@code NAME=DIR[#SOURCE]:WEIGHT,...}. The weight is the text after the part's last ':', so DIR may hold
     * ':' (hdfs://nn:8020/x); DIR may not hold ','; the text after the last '#' names the source to read.
     */
    static List<MixtureComponent> parseList(String spec) {
        List<MixtureComponent> components = new ArrayList<>();
        String[] parts = spec.split(",", -1);
        for (int i = 0; i < parts.length; i++) {
            String part = parts[i].strip();
            if (part.isEmpty()) {
                throw new IllegalArgumentException("mixture spec '" + spec + "': part " + (i + 1) + " is empty");
            }
            int eq = part.indexOf('=');
            int colon = part.lastIndexOf(':');
            if (eq <= 0 || colon < eq) {
                throw new IllegalArgumentException("mixture part '" + part + "' must look like NAME=DIR:WEIGHT");
            }
            String name = part.substring(0, eq);
            String dir = part.substring(eq + 1, colon);
            String weightText = part.substring(colon + 1);
            if (!MixtureComponent.NAME.matcher(name).matches()) {
                throw new IllegalArgumentException("mixture part '" + part + "': name '" + name
                        + "' must be letters, digits, '_', '-' or '.'");
            }
            String source = null;
            int hash = dir.lastIndexOf(MixtureComponent.SOURCE_SEPARATOR);
            if (hash >= 0) {
                source = dir.substring(hash + 1);
                dir = dir.substring(0, hash);
                if (source.isEmpty()) throw new IllegalArgumentException("mixture part '" + part + "' has an empty SOURCE after '#'");
            }
            if (dir.isEmpty()) throw new IllegalArgumentException("mixture part '" + part + "' has an empty DIR");
            double weight;
            try {
                weight = Double.parseDouble(weightText);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("mixture part '" + part + "': weight '" + weightText
                        + "' (the text after the last ':') is not a number; write NAME=DIR:WEIGHT");
            }
            if (!(weight > 0) || Double.isInfinite(weight)) {
                throw new IllegalArgumentException("mixture part '" + part + "': weight " + weightText + " must be positive");
            }
            components.add(new MixtureComponent(name, dir, source, weight));
        }
        checkUniqueNames(components, "mixture spec '" + spec + "'");
        return components;
    }

    /** Reads a JSON mixture file (any Hadoop URI or local path); relative dataset paths are relative to its directory. */
    static List<MixtureComponent> readFile(String file, Configuration conf) throws IOException {
        if (file.isEmpty()) throw new IllegalArgumentException("'@' must be followed by a mixture file");
        Path path = new Path(file);
        FileSystem fs = path.getFileSystem(conf);
        path = fs.makeQualified(path);
        JsonNode root;
        try (InputStream in = fs.open(path)) {
            root = JSON.readTree(in);
        } catch (FileNotFoundException e) {
            throw new IOException("mixture file " + path + " does not exist", e);
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            throw new IllegalArgumentException("mixture file " + path + " is not valid JSON: " + e.getOriginalMessage(), e);
        }
        String where = "mixture file " + path + ": ";
        if (root == null || !root.isObject() || !root.path("datasets").isArray() || root.get("datasets").isEmpty()) {
            throw new IllegalArgumentException(where + "expected {\"datasets\": [{\"name\": ..., \"path\": ..., \"weight\": ...}, ...]}"
                    + " (\"source\": ... optional)");
        }
        for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!f.equals("datasets")) throw new IllegalArgumentException(where + "unknown field '" + f + "'");
        }
        List<MixtureComponent> components = new ArrayList<>();
        JsonNode datasets = root.get("datasets");
        for (int i = 0; i < datasets.size(); i++) {
            JsonNode entry = datasets.get(i);
            String at = "datasets[" + i + "]";
            if (!entry.isObject()) throw new IllegalArgumentException(where + at + " is " + entry + ", expected an object");
            for (Iterator<String> it = entry.fieldNames(); it.hasNext(); ) {
                String f = it.next();
                if (!ENTRY_FIELDS.contains(f)) {
                    throw new IllegalArgumentException(where + at + " has unknown field '" + f
                            + "' (expected name, path, source, weight)");
                }
            }
            String name = text(entry, "name", where + at);
            String dir = text(entry, "path", where + at);
            String source = entry.has("source") ? text(entry, "source", where + at) : null;
            JsonNode weight = entry.get("weight");
            if (weight == null || !weight.isNumber() || !(weight.doubleValue() > 0) || Double.isInfinite(weight.doubleValue())) {
                throw new IllegalArgumentException(where + at + ".weight is " + weight + ", expected a positive number");
            }
            if (!MixtureComponent.NAME.matcher(name).matches()) {
                throw new IllegalArgumentException(where + at + ".name '" + name + "' must be letters, digits, '_', '-' or '.'");
            }
            Path p = new Path(dir);
            if (!p.isAbsolute() && p.toUri().getScheme() == null) p = new Path(path.getParent(), dir);
            components.add(new MixtureComponent(name, p.toString(), source, weight.doubleValue()));
        }
        checkUniqueNames(components, where.substring(0, where.length() - 2));
        return components;
    }

    private static String text(JsonNode entry, String field, String at) {
        JsonNode v = entry.get(field);
        if (v == null || !v.isTextual() || v.asText().isEmpty()) {
            throw new IllegalArgumentException(at + "." + field + " is " + v + ", expected a non-empty string");
        }
        return v.asText();
    }

    private static void checkUniqueNames(List<MixtureComponent> components, String where) {
        Set<String> names = new HashSet<>();
        for (MixtureComponent c : components) {
            if (!names.add(c.name())) throw new IllegalArgumentException(where + " names dataset '" + c.name() + "' twice");
        }
    }
}
