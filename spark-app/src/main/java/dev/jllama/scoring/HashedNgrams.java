package dev.jllama.scoring;

import java.io.Serializable;
import java.util.Locale;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.ml.feature.HashingTF;
import org.apache.spark.ml.linalg.SparseVector;

/**
 * The classifier's features: a document's word unigrams and bigrams, hashed into {@code numFeatures} buckets by
 * Spark ML's {@link HashingTF} (MurmurHash3 x86 32-bit, seed 42, of each term's UTF-8 bytes, modulo the bucket
 * count), counted, and scaled to unit Euclidean length so that long and short documents weigh alike. A word is a
 * maximal run of Unicode letters, digits and combining marks, lower-cased; a bigram is two consecutive words joined
 * by one space.
 */
public final class HashedNgrams implements Serializable {
    private static final Pattern WORD = Pattern.compile("[\\p{L}\\p{N}\\p{M}]+");

    private final int numFeatures;
    private transient HashingTF hashing;

    public HashedNgrams(int numFeatures) {
        if (numFeatures < 1) throw new IllegalArgumentException("the feature count must be positive, got " + numFeatures);
        this.numFeatures = numFeatures;
    }

    public int numFeatures() {
        return numFeatures;
    }

    /** The unit-length vector of hashed unigram and bigram counts (all zeros for a text without words). */
    public SparseVector vector(String text) {
        if (hashing == null) hashing = new HashingTF().setNumFeatures(numFeatures);
        TreeMap<Integer, Double> counts = new TreeMap<>();
        Matcher m = WORD.matcher(text.toLowerCase(Locale.ROOT));
        String previous = null;
        while (m.find()) {
            String word = m.group();
            counts.merge(hashing.indexOf(word), 1.0, Double::sum);
            if (previous != null) counts.merge(hashing.indexOf(previous + " " + word), 1.0, Double::sum);
            previous = word;
        }
        int[] indices = new int[counts.size()];
        double[] values = new double[counts.size()];
        double squares = 0;
        int i = 0;
        for (var e : counts.entrySet()) {
            indices[i] = e.getKey();
            values[i] = e.getValue();
            squares += values[i] * values[i];
            i++;
        }
        double norm = Math.sqrt(squares);
        if (norm > 0) for (int k = 0; k < values.length; k++) values[k] /= norm;
        return new SparseVector(numFeatures, indices, values);
    }
}
