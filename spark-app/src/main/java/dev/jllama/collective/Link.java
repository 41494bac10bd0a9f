package dev.jllama.collective;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.CancelledKeyException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.channels.UnresolvedAddressException;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * One TCP connection of the ring in non-blocking mode with its own selector, so that every read, write and
 * connect waits at most a bounded time and {@link #close()} from another thread ends any wait at once.
 * A link is used by one thread at a time.
 *
 * <p>Socket buffer sizes are left to the kernel on purpose: on Linux, setting SO_SNDBUF or SO_RCVBUF turns off
 * autotuning and caps the buffer at net.core.[rw]mem_max (often 208 KiB), while autotuning grows it up to
 * the maximum of net.ipv4.tcp_[rw]mem (4 and 6 MiB by default) for a busy bulk connection like this one.
 */
final class Link implements AutoCloseable {
    /** Marks a wait that has no absolute deadline, only an idle limit. */
    static final long NO_DEADLINE = Long.MAX_VALUE;

    private final SocketChannel channel;
    private final Selector selector;
    private final SelectionKey key;
    private final String self;
    private volatile String peer;

    private Link(SocketChannel channel, String self, String peer) throws IOException {
        this.channel = channel;
        this.self = self;
        this.peer = peer;
        channel.configureBlocking(false);
        channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
        this.selector = Selector.open();
        this.key = channel.register(selector, 0);
    }

    /** Wraps an accepted connection; {@code self} names this side in messages, e.g. {@code rank 2}. */
    static Link accepted(SocketChannel channel, String self) throws IOException {
        String remote;
        try {
            remote = String.valueOf(channel.getRemoteAddress());
        } catch (IOException e) {
            remote = "an unknown address";
        }
        try {
            return new Link(channel, self, "connection from " + remote);
        } catch (IOException e) {
            channel.close();
            throw e;
        }
    }

    /**
     * Connects to {@code address}, retrying while nothing listens there yet (the peer may still be starting),
     * until {@code deadlineNanos} ({@link System#nanoTime()} scale).
     */
    static Link connect(PeerAddress address, String self, String peer, long deadlineNanos, long timeoutNanos)
            throws IOException {
        IOException lastRefusal = null;
        while (true) {
            SocketChannel channel = SocketChannel.open();
            Link link = null;
            try {
                link = new Link(channel, self, peer);
                if (!channel.connect(address.socketAddress())) link.finishConnect(deadlineNanos, timeoutNanos);
                return link;
            } catch (ConnectException e) {
                lastRefusal = e;
            } catch (UnresolvedAddressException e) {
                closeQuietly(link, channel);
                throw new IOException(self + ": cannot resolve the address of " + peer);
            } catch (IOException | RuntimeException e) {
                closeQuietly(link, channel);
                throw e;
            }
            closeQuietly(link, channel);
            long remaining = deadlineNanos - System.nanoTime();
            if (remaining <= 0) {
                throw new PeerTimeoutException(self + ": could not connect to " + peer + " within "
                        + seconds(timeoutNanos) + " (last attempt: " + lastRefusal.getMessage() + ")");
            }
            sleep(Math.min(remaining, TimeUnit.MILLISECONDS.toNanos(50)));
        }
    }

    private void finishConnect(long deadlineNanos, long timeoutNanos) throws IOException {
        key.interestOps(SelectionKey.OP_CONNECT);
        while (!channel.finishConnect()) {
            long remaining = deadlineNanos - System.nanoTime();
            if (remaining <= 0) {
                throw new PeerTimeoutException(self + ": connecting to " + peer + " did not complete within "
                        + seconds(timeoutNanos));
            }
            selector.select(waitMillis(remaining));
            selector.selectedKeys().clear();
        }
        key.interestOps(0);
    }

    /** Names the peer in later messages once it has proved who it is. */
    void identifyPeer(String name) {
        this.peer = name;
    }

    String peer() {
        return peer;
    }

    String self() {
        return self;
    }

    /**
     * Reads until {@code buffer} is full. Fails when the peer sends nothing for {@code idleNanos} or the whole read
     * passes {@code deadlineNanos} ({@link #NO_DEADLINE} for none).
     */
    void readFully(ByteBuffer buffer, long idleNanos, long deadlineNanos, Supplier<String> waitingFor)
            throws IOException {
        transfer(buffer, SelectionKey.OP_READ, idleNanos, deadlineNanos, waitingFor);
    }

    /** Writes all of {@code buffer}, with the same limits as {@link #readFully}. */
    void writeFully(ByteBuffer buffer, long idleNanos, long deadlineNanos, Supplier<String> waitingFor)
            throws IOException {
        transfer(buffer, SelectionKey.OP_WRITE, idleNanos, deadlineNanos, waitingFor);
    }

    private void transfer(ByteBuffer buffer, int operation, long idleNanos, long deadlineNanos,
                          Supplier<String> waitingFor) throws IOException {
        boolean reading = operation == SelectionKey.OP_READ;
        long lastProgress = System.nanoTime();
        try {
            while (buffer.hasRemaining()) {
                int moved = reading ? channel.read(buffer) : channel.write(buffer);
                if (moved < 0) {
                    throw new IOException(self + ": " + peer + " closed the connection while " + self + " waited for "
                            + waitingFor.get());
                }
                long now = System.nanoTime();
                if (moved > 0) {
                    lastProgress = now;
                    continue;
                }
                long idleLeft = idleNanos - (now - lastProgress);
                long deadlineLeft = deadlineNanos == NO_DEADLINE ? Long.MAX_VALUE : deadlineNanos - now;
                if (idleLeft <= 0) {
                    throw new PeerTimeoutException(self + ": " + peer + (reading ? " sent nothing" : " took no data")
                            + " for " + seconds(idleNanos) + " while " + self + " waited for " + waitingFor.get());
                }
                if (deadlineLeft <= 0) {
                    throw new PeerTimeoutException(self + ": " + peer + " did not finish " + waitingFor.get()
                            + " before the deadline");
                }
                key.interestOps(operation);
                selector.select(waitMillis(Math.min(idleLeft, deadlineLeft)));
                selector.selectedKeys().clear();
                if (!channel.isOpen()) throw closedWhile(waitingFor);
                if (Thread.currentThread().isInterrupted()) {
                    throw new InterruptedIOException(self + ": interrupted while waiting for " + waitingFor.get());
                }
            }
        } catch (ClosedChannelException | ClosedSelectorException | CancelledKeyException e) {
            throw closedWhile(waitingFor); // closed by another thread
        }
    }

    private IOException closedWhile(Supplier<String> waitingFor) {
        return new IOException(self + ": the connection to " + peer + " was closed while waiting for "
                + waitingFor.get());
    }

    /** Closes the connection; a thread waiting in {@link #readFully} or {@link #writeFully} fails at once. */
    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException ignored) {
            // Closing a socket can only fail in ways that leave it closed anyway.
        }
        try {
            selector.close(); // wakes a thread blocked in select()
        } catch (IOException ignored) {
            // As above.
        }
    }

    private static void closeQuietly(Link link, SocketChannel channel) {
        if (link != null) {
            link.close();
        } else {
            try {
                channel.close();
            } catch (IOException ignored) {
                // Nothing was sent on it.
            }
        }
    }

    /** A select timeout in whole milliseconds, never 0 (which would mean forever). */
    private static long waitMillis(long nanos) {
        return Math.max(1, TimeUnit.NANOSECONDS.toMillis(nanos + 999_999));
    }

    private static void sleep(long nanos) throws IOException {
        try {
            TimeUnit.NANOSECONDS.sleep(nanos);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting to reconnect");
        }
    }

    static String seconds(long nanos) {
        return String.format(Locale.ROOT, "%.1f s", nanos / 1e9);
    }
}
