package dev.jllama.scoring;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jllama.data.prepare.DocumentScorer;
import dev.jllama.data.tokenizer.Tokenizer;
import dev.jllama.model.checkpoint.CheckpointStore;
import dev.jllama.model.checkpoint.TrainingState;
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

    /** Input tokens per forward pass when scoring perplexity, as eval's default (16 windows of 256). */
    public static final int DEFAULT_BATCH_TOKENS = 4096;

    /**
     * {@code perplexity} from a jllama checkpoint, on the executors' CPU backend.
     *
     * @param checkpoint   a checkpoint, or a run or checkpoints directory (its newest complete checkpoint)
     * @param windowTokens tokens predicted per window; null for the checkpoint's training seq_len (as eval)
     * @param batchTokens  input tokens per forward pass
     * @param threads      CPU threads per scoring task; 0 for the task's cores ({@code spark.task.cpus})
     * @throws IllegalArgumentException naming the checkpoint when it is missing, has no tokenizer, or cannot take
     *                                  windows that long
     */
    public static DocumentScorer perplexity(String checkpoint, Integer windowTokens, int batchTokens, int threads,
                                            Configuration conf) {
        try {
            String dir = CheckpointStore.resolve(checkpoint, conf);
            TrainingState state = CheckpointStore.readState(dir, conf);
            byte[] tokenizer = CheckpointStore.readTokenizer(dir, conf).orElseThrow(() -> new IllegalArgumentException(
                    "checkpoint " + dir + " has no " + CheckpointStore.TOKENIZER_FILE + " to turn text into tokens"));
            if (Tokenizer.fromBytes(tokenizer, dir).eosId() < 0) {
                throw new IllegalArgumentException("the tokenizer of checkpoint " + dir + " has no end-of-sequence piece"
                        + " to start documents with");
            }
            int max = state.config().maxSeqLen();
            int window = windowTokens != null ? windowTokens : trainingSeqLen(state);
            if (window < 1 || window > max) {
                throw new IllegalArgumentException("perplexity window " + window + " must be from 1 to checkpoint " + dir
                        + "'s max_seq_len " + max);
            }
            if (batchTokens < 1) throw new IllegalArgumentException("perplexity batch tokens must be positive, got " + batchTokens);
            return new PerplexityScorer(dir, window, batchTokens, threads);
        } catch (IOException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    /** The seq_len the checkpoint was trained with, capped at the model's context (eval's default window). */
    static int trainingSeqLen(TrainingState state) {
        JsonNode options = state.options();
        int max = state.config().maxSeqLen();
        return options != null && options.has("seq_len") ? Math.min(max, options.get("seq_len").asInt()) : max;
    }
}
