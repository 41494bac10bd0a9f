package dev.jllama.model.train;

import java.io.IOException;

/** Where a training rank gets its token windows; the data module's shard readers implement it. */
public interface BatchSource {

    /** Fills {@code dst} with the next {@code windows} windows of {@code seqLen + 1} tokens each. */
    void next(int[] dst, int windows) throws IOException;

    /** An opaque position after the windows handed out so far, stored in checkpoints to resume exactly. */
    String position();
}
