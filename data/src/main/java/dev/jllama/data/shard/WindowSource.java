package dev.jllama.data.shard;

import java.io.IOException;
import java.util.Map;

/**
 * One rank's part of an endless global stream of training windows of seqLen+1 tokens, read step by step as its
 * {@link RankSlice} says.
 */
public interface WindowSource extends AutoCloseable {
    int seqLen();

    /**
     * Fills dst[0 .. count*(seqLen+1)) with this rank's next {@code count} windows; a step's windows may come in
     * several calls (one per micro-batch), and the next step continues where the last left off.
     */
    void next(int[] dst, int count) throws IOException;

    /**
     * The global stream's position as a JSON string: identical on every rank and independent of rank and world
     * size, so any slice can resume from it.
     *
     * @throws IllegalStateException unless this rank has read a whole number of steps
     */
    String position();

    /** Bytes this rank has read from the file system (shards, headers, checksums), its read-ahead included. */
    long bytesRead();

    /** Bytes of the tokens this rank has trained on (seqLen tokens per window read), for the read amplification. */
    long bytesTrained();

    /** What a log line should show about the source (a mixture: per dataset weight, windows and realised fraction). */
    default Map<String, Map<String, Object>> report() {
        return Map.of();
    }

    @Override
    void close() throws IOException;
}
