package dev.jllama.model.checkpoint;

import java.io.IOException;

/**
 * A checkpoint that cannot be trusted: a file missing, of the wrong length, or whose CRC32C differs from what
 * the checkpoint recorded when it was written. A run resuming from a store skips such a checkpoint for an older one.
 */
public final class CorruptCheckpointException extends IOException {
    private final String checkpoint;
    private final String file;

    public CorruptCheckpointException(String checkpoint, String file, String problem, Throwable cause) {
        super("checkpoint " + checkpoint + ": " + file + ": " + problem, cause);
        this.checkpoint = checkpoint;
        this.file = file;
    }

    public String checkpoint() {
        return checkpoint;
    }

    public String file() {
        return file;
    }
}
