package dev.jllama.data.mixture;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One dataset of a mixture with its sampling weight (weights need not sum to 1; they are normalised).
 *
 * @param name shown in reports; must be unique within a mixture
 * @param dir  the dataset directory (any Hadoop URI or local path)
 */
public record MixtureComponent(String name, String dir, double weight) {

    /** The LLaMA paper's pre-training mixture (Table 1, sampling proportions in percent). */
    public static final Map<String, Double> LLAMA_PAPER_WEIGHTS;

    static {
        Map<String, Double> w = new LinkedHashMap<>();
        w.put("CommonCrawl", 67.0);
        w.put("C4", 15.0);
        w.put("GitHub", 4.5);
        w.put("Wikipedia", 4.5);
        w.put("Books", 4.5);
        w.put("ArXiv", 2.5);
        w.put("StackExchange", 2.0);
        LLAMA_PAPER_WEIGHTS = java.util.Collections.unmodifiableMap(w);
    }

    public MixtureComponent {
        if (name == null || name.isBlank()) throw new IllegalArgumentException("mixture component needs a name (dir " + dir + ")");
        if (dir == null || dir.isBlank()) throw new IllegalArgumentException("mixture component '" + name + "' needs a dir");
        if (!(weight > 0) || Double.isInfinite(weight)) {
            throw new IllegalArgumentException("mixture component '" + name + "' has weight " + weight + "; it must be positive");
        }
    }

    /**
     * Parses {@code WEIGHT=DIR} or {@code NAME:WEIGHT=DIR} (a command-line form; the weight comes first because
     * directories may contain ':' and '@'). Without a name, the directory's last path element is used.
     */
    public static MixtureComponent parse(String spec) {
        int eq = spec.indexOf('=');
        if (eq <= 0 || eq == spec.length() - 1) {
            throw new IllegalArgumentException("mixture component '" + spec + "' must look like WEIGHT=DIR or NAME:WEIGHT=DIR");
        }
        String head = spec.substring(0, eq);
        String dir = spec.substring(eq + 1);
        int colon = head.lastIndexOf(':');
        String name = colon >= 0 ? head.substring(0, colon) : lastElement(dir);
        String weightText = colon >= 0 ? head.substring(colon + 1) : head;
        double weight;
        try {
            weight = Double.parseDouble(weightText);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("mixture component '" + spec + "': weight '" + weightText + "' is not a number");
        }
        return new MixtureComponent(name, dir, weight);
    }

    private static String lastElement(String dir) {
        String d = dir.endsWith("/") ? dir.substring(0, dir.length() - 1) : dir;
        return d.substring(d.lastIndexOf('/') + 1);
    }
}
