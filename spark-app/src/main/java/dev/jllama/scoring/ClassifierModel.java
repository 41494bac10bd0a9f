package dev.jllama.scoring;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.ml.linalg.SparseVector;

/**
 * A trained linear quality classifier: P(positive | text) = sigmoid(intercept + weights · {@link HashedNgrams}(text)).
 * Stored as one JSON file (format {@value #FORMAT}, version {@value #VERSION}): the feature definition, the
 * intercept and the non-zero weights by bucket index, readable on any Hadoop file system.
 */
public record ClassifierModel(int numFeatures, double intercept, double[] weights) {
    static final String FORMAT = "jllama-quality-classifier";
    static final int VERSION = 1;

    public ClassifierModel {
        if (weights.length != numFeatures) {
            throw new IllegalArgumentException(weights.length + " weights for " + numFeatures + " features");
        }
    }

    public HashedNgrams features() {
        return new HashedNgrams(numFeatures);
    }

    /** The probability that {@code features} (from {@link #features()}) belong to the positive class. */
    public double probability(SparseVector features) {
        double z = intercept;
        int[] idx = features.indices();
        double[] val = features.values();
        for (int i = 0; i < idx.length; i++) z += weights[idx[i]] * val[i];
        return 1 / (1 + Math.exp(-z));
    }

    /** Writes the model to {@code location}, which must not exist yet. */
    public void write(String location, Configuration conf) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode();
        root.put("format", FORMAT);
        root.put("version", VERSION);
        ObjectNode f = root.putObject("features");
        f.put("words", "maximal runs of Unicode letters, digits and marks, lower-cased");
        f.put("terms", "unigrams and bigrams (two words joined by one space)");
        f.put("hashing", "Spark ML HashingTF: murmur3_x86_32, seed 42, of the term's UTF-8 bytes, modulo num_features");
        f.put("values", "term counts scaled to unit L2 norm");
        f.put("num_features", numFeatures);
        root.put("intercept", intercept);
        ArrayNode indices = root.putArray("indices");
        ArrayNode values = root.putArray("weights");
        for (int i = 0; i < numFeatures; i++) {
            if (weights[i] != 0) {
                indices.add(i);
                values.add(weights[i]);
            }
        }
        Path path = new Path(location);
        try (OutputStream out = path.getFileSystem(conf).create(path, false)) {
            json.writeValue(out, root);
        }
    }

    /** Reads a model written by {@link #write}; a missing or foreign file is an IOException naming it. */
    public static ClassifierModel read(String location, Configuration conf) throws IOException {
        Path path = new Path(location);
        FileSystem fs = path.getFileSystem(conf);
        if (!fs.exists(path)) throw new IOException("classifier model " + location + " does not exist");
        if (fs.getFileStatus(path).isDirectory()) {
            throw new IOException("classifier model " + location + " is a directory, not a model file from train-classifier");
        }
        JsonNode root;
        try (InputStream in = fs.open(path)) {
            root = new ObjectMapper().readTree(in);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IOException("classifier model " + location + " is not JSON: " + e.getOriginalMessage());
        }
        if (root == null || !FORMAT.equals(root.path("format").asText())) {
            throw new IOException("classifier model " + location + " is not a model written by train-classifier");
        }
        if (root.path("version").asInt() != VERSION) {
            throw new IOException("classifier model " + location + " has version " + root.path("version")
                    + "; this jllama reads version " + VERSION);
        }
        int n = root.path("features").path("num_features").asInt();
        double[] weights = new double[n];
        JsonNode indices = root.path("indices"), values = root.path("weights");
        for (int i = 0; i < indices.size(); i++) weights[indices.get(i).asInt()] = values.get(i).asDouble();
        return new ClassifierModel(n, root.path("intercept").asDouble(), weights);
    }
}
