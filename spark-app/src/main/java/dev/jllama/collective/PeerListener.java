package dev.jllama.collective;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;

/**
 * The listening socket of one rank, opened before the ranks exchange addresses (phase 1); {@link Collective#connect}
 * then accepts the ring connection from the previous rank on it and keeps refusing strangers until it is closed.
 */
public final class PeerListener implements AutoCloseable {
    private final ServerSocketChannel channel;
    private final PeerAddress address;

    private PeerListener(ServerSocketChannel channel, PeerAddress address) {
        this.channel = channel;
        this.address = address;
    }

    /** Binds an ephemeral port on {@code bindHost}'s address (a concrete address other ranks can reach). */
    public static PeerListener open(String bindHost) throws IOException {
        InetAddress host = InetAddress.getByName(bindHost);
        if (host.isAnyLocalAddress()) {
            throw new IllegalArgumentException("bind the collective to an address other ranks can reach, not the"
                    + " wildcard '" + bindHost + "'");
        }
        ServerSocketChannel channel = ServerSocketChannel.open();
        try {
            channel.bind(new InetSocketAddress(host, 0), 64);
            int port = ((InetSocketAddress) channel.getLocalAddress()).getPort();
            return new PeerListener(channel, new PeerAddress(host.getHostAddress(), port));
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    /** {@code host:port} to publish to the other ranks. */
    public String address() {
        return address.toString();
    }

    ServerSocketChannel channel() {
        return channel;
    }

    /** Stops accepting; idempotent. {@link Collective#close()} closes its listener too. */
    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException ignored) {
            // A listening socket that fails to close is closed all the same.
        }
    }
}
