package dev.jllama.data.shard;

/** Endless stream of training windows of seqLen+1 tokens for one rank. */
public interface WindowSource extends AutoCloseable {
    int seqLen();

    /** Fills dst[0 .. count*(seqLen+1)) with the next `count` windows (wrapping to a new epoch as needed). */
    void next(int[] dst, int count) throws java.io.IOException;

    /** An opaque, JSON-serialisable position (a String) after the windows handed out so far. */
    String position();

    @Override
    void close() throws java.io.IOException;
}
