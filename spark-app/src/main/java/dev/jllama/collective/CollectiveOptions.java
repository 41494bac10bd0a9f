package dev.jllama.collective;

import java.time.Duration;
import java.util.Objects;

/**
 * Settings of a {@link Collective}.
 *
 * @param timeout    how long any blocking step (connecting, a handshake, waiting for a peer's next bytes, waiting for
 *                   a peer to take ours) may last before the operation fails with {@link PeerTimeoutException}
 * @param chunkBytes how many bytes of floats travel per pipelined chunk; a positive multiple of 4
 */
public record CollectiveOptions(Duration timeout, int chunkBytes) {

    public CollectiveOptions {
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout must be positive, got " + timeout);
        }
        if (chunkBytes < Float.BYTES || chunkBytes % Float.BYTES != 0) {
            throw new IllegalArgumentException("chunkBytes must be a positive multiple of 4, got " + chunkBytes);
        }
    }

    /** Three minutes (room for a slow rank to reach the same step) and 1 MiB chunks. */
    public static CollectiveOptions defaults() {
        return new CollectiveOptions(Duration.ofMinutes(3), 1 << 20);
    }

    public CollectiveOptions withTimeout(Duration newTimeout) {
        return new CollectiveOptions(newTimeout, chunkBytes);
    }

    public CollectiveOptions withChunkBytes(int newChunkBytes) {
        return new CollectiveOptions(timeout, newChunkBytes);
    }
}
