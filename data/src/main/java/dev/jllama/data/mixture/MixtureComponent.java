package dev.jllama.data.mixture;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * One dataset of a mixture, or one source of a dataset, with its sampling weight (weights need not sum to 1; they
 * are normalised).
 *
 * @param name   shown in reports and saved in reader positions; letters, digits, '_', '-' and '.', unique within a
 *               mixture
 * @param dir    the dataset directory (any Hadoop URI or local path)
 * @param source the source whose shards this component reads (a dataset prepared with per-source shards); null:
 *               the whole dataset
 */
public record MixtureComponent(String name, String dir, String source, double weight) {

    /** Separates a dataset directory from the source read of it: {@code DIR#SOURCE}. */
    static final char SOURCE_SEPARATOR = '#';

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

    /** Names are written into specs (NAME=DIR:WEIGHT) and positions, so they stay plain. */
    static final Pattern NAME = Pattern.compile("[A-Za-z0-9_.-]+");

    public MixtureComponent {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("mixture component name '" + name + "' (dir " + dir
                    + ") must be letters, digits, '_', '-' or '.'");
        }
        if (dir == null || dir.isBlank()) throw new IllegalArgumentException("mixture component '" + name + "' needs a dir");
        if (source != null && (source.isEmpty() || source.indexOf(',') >= 0 || source.indexOf(SOURCE_SEPARATOR) >= 0)) {
            throw new IllegalArgumentException("mixture component '" + name + "' names source '" + source + "' of " + dir
                    + "; a source read in a mixture is not empty and holds no ',' or '#'");
        }
        if (!(weight > 0) || Double.isInfinite(weight)) {
            throw new IllegalArgumentException("mixture component '" + name + "' has weight " + weight + "; it must be positive");
        }
    }

    /** The whole dataset at {@code dir}. */
    public MixtureComponent(String name, String dir, double weight) {
        this(name, dir, null, weight);
    }
}
