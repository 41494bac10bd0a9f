package dev.jllama.model.train;

import java.io.IOException;
import java.util.Arrays;

/**
 * Where a training rank gets its token windows: the data module's shard readers ({@code train}) and the packed
 * instruction examples ({@code finetune}) implement it.
 */
public interface BatchSource {

    /** Fills {@code dst} with the next {@code windows} windows of {@code seqLen + 1} tokens each. */
    void next(int[] dst, int windows) throws IOException;

    /**
     * As {@link #next(int[], int)}, and says which targets count in the loss: {@code lossMask[b * seqLen + t]} for
     * the target {@code t} of window {@code b} (its token {@code t + 1}). Only a source whose {@link #masksLoss()} is
     * true leaves some out; this default counts every target.
     */
    default void next(int[] dst, boolean[] lossMask, int windows, int seqLen) throws IOException {
        next(dst, windows);
        Arrays.fill(lossMask, 0, windows * seqLen, true);
    }

    /**
     * Whether {@link #next(int[], boolean[], int, int)} may leave targets out of the loss: then the trainer
     * divides by the targets counted over all ranks rather than by the tokens of the step (fine-tuning's loss over
     * response tokens only).
     */
    default boolean masksLoss() {
        return false;
    }

    /**
     * Whether windows pack several examples each, so that attention must stay inside each example: then the trainer
     * calls {@link #next(int[], boolean[], int[], int, int)}.
     */
    default boolean packsExamples() {
        return false;
    }

    /**
     * As {@link #next(int[], boolean[], int, int)}, and {@code starts[b * seqLen + t]}: the position in window
     * {@code b} where the example of input token {@code t} starts. This default has one example per window.
     */
    default void next(int[] dst, boolean[] lossMask, int[] starts, int windows, int seqLen) throws IOException {
        next(dst, lossMask, windows, seqLen);
        Arrays.fill(starts, 0, windows * seqLen, 0);
    }

    /** An opaque position after the windows handed out so far, stored in checkpoints to resume exactly. */
    String position();
}
