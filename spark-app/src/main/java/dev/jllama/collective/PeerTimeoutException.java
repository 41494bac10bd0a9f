package dev.jllama.collective;

import java.io.IOException;

/** A peer did not connect, send or take data within {@link CollectiveOptions#timeout()}. */
public final class PeerTimeoutException extends IOException {
    public PeerTimeoutException(String message) {
        super(message);
    }
}
