package dev.jllama.data.prepare;

import java.io.IOException;
import java.io.Serializable;
import java.util.List;
import org.apache.hadoop.conf.Configuration;

/**
 * A model-based signal computed on the executors, one number per document (a quality classifier's score, a
 * language model's perplexity). The scorer itself is small and serializable: it travels in the task closure and
 * names where its model lives; {@link #open} loads the model once per partition on the executor.
 */
public interface DocumentScorer extends Serializable {

    /** The annotation column this scorer fills, e.g. {@code quality_score} or {@code perplexity}. */
    String column();

    /** Loads the model on the executor; the returned scoring is used for one partition and then closed. */
    Scoring open(Configuration conf) throws IOException;

    /** One partition's scoring: batches of cleaned document texts in, one score per text out, in order. */
    interface Scoring extends AutoCloseable {
        double[] score(List<String> texts) throws IOException;

        @Override
        void close() throws IOException;
    }
}
