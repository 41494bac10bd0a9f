package dev.jllama.data.prepare;

import java.io.Serializable;

/**
 * MinHash near-duplicate removal settings. A document is described by the set of its {@code shingleWords}-word
 * shingles; its signature has {@code bands × rows} MinHash values; two documents become a candidate pair when all
 * {@code rows} values of any band are equal (probability 1 − (1 − J^rows)^bands for Jaccard similarity J), and a
 * candidate pair is a duplicate when the share of equal signature values (an estimate of J) is at least
 * {@code threshold}. Defaults: 5-word shingles, 14 bands of 8 rows (112 values, DataTrove's choice), threshold
 * 0.8: pairs at J = 0.9 are candidates with probability 0.9996, at J = 0.8 0.92, at J = 0.5 0.05. The LLaMA paper's
 * book rule (drop books with more than 90 % content overlap) is threshold 0.9, e.g. with 20 bands of 10 rows.
 */
public record NearDedupOptions(int shingleWords, int bands, int rows, double threshold) implements Serializable {

    public static final int DEFAULT_SHINGLE_WORDS = 5;
    public static final int DEFAULT_BANDS = 14;
    public static final int DEFAULT_ROWS = 8;
    public static final double DEFAULT_THRESHOLD = 0.8;
    public static final NearDedupOptions DEFAULT = new NearDedupOptions(DEFAULT_SHINGLE_WORDS, DEFAULT_BANDS, DEFAULT_ROWS,
            DEFAULT_THRESHOLD);

    public NearDedupOptions {
        if (shingleWords < 1) throw new IllegalArgumentException("shingle size must be at least 1 word, got " + shingleWords);
        if (bands < 1 || rows < 1) throw new IllegalArgumentException("bands and rows must be at least 1, got " + bands + " × " + rows);
        if (bands * rows > 1024) throw new IllegalArgumentException("bands × rows must be at most 1024, got " + bands * rows);
        if (!(threshold > 0 && threshold <= 1)) throw new IllegalArgumentException("threshold must be in (0, 1], got " + threshold);
    }

    /** The Jaccard similarity at which a pair becomes a candidate with probability about one half. */
    public double candidateMidpoint() {
        return Math.pow(1.0 / bands, 1.0 / rows);
    }
}
