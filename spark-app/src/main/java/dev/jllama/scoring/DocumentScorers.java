package dev.jllama.scoring;

import dev.jllama.data.prepare.DocumentScorer;
import java.io.IOException;
import org.apache.hadoop.conf.Configuration;

/**
 * The model-based signals {@code prepare} can compute, each checked on the driver before any work so that a bad
 * path is a one-line error and not a failed task.
 */
public final class DocumentScorers {
    private DocumentScorers() {}

    /**
     * {@code quality_score} from a model written by {@code train-classifier}.
     *
     * @throws IllegalArgumentException naming the model when it is missing or not such a model
     */
    public static DocumentScorer classifier(String modelPath, Configuration conf) {
        try {
            ClassifierModel.read(modelPath, conf);
        } catch (IOException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
        return new ClassifierScorer(modelPath);
    }
}
