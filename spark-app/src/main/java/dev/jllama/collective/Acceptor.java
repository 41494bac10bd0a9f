package dev.jllama.collective;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SocketChannel;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Accepts the ring connection from the previous rank on a rank's listener and, for as long as the collective lives,
 * refuses every other connection: each one is authenticated on its own thread within a short handshake limit, then
 * closed and logged, so a stray or hostile client never delays or disturbs the ring.
 */
final class Acceptor {
    /** Initialised on the first refusal: configuring logging can take a second, not to be spent inside connect(). */
    private static final class Log {
        static final Logger LOG = LogManager.getLogger(Acceptor.class);
    }

    private final PeerListener listener;
    private final int rank;
    private final int predecessor;
    private final String predecessorName;
    private final int worldSize;
    private final byte[] secret;
    private final long handshakeNanos;
    private final CompletableFuture<Link> fromPredecessor = new CompletableFuture<>();

    private Acceptor(PeerListener listener, int rank, int predecessor, String predecessorName, int worldSize,
                     byte[] secret, long handshakeNanos) {
        this.listener = listener;
        this.rank = rank;
        this.predecessor = predecessor;
        this.predecessorName = predecessorName;
        this.worldSize = worldSize;
        this.secret = secret;
        this.handshakeNanos = handshakeNanos;
    }

    static Acceptor start(PeerListener listener, int rank, int predecessor, String predecessorName, int worldSize,
                          byte[] secret, long handshakeNanos) {
        Acceptor acceptor = new Acceptor(listener, rank, predecessor, predecessorName, worldSize, secret,
                handshakeNanos);
        Thread.ofPlatform().daemon().name("jllama-collective-rank-" + rank + "-acceptor").start(acceptor::acceptLoop);
        return acceptor;
    }

    private void acceptLoop() {
        while (true) {
            SocketChannel channel;
            try {
                channel = listener.channel().accept();
            } catch (ClosedChannelException e) {
                return; // the collective was closed
            } catch (IOException e) {
                // E.g. out of file descriptors: keep serving, but do not spin.
                Log.LOG.warn("rank {}: accepting a connection failed: {}", rank, e.getMessage());
                pause();
                continue;
            }
            Thread.ofVirtual().name("jllama-collective-rank-" + rank + "-handshake").start(() -> authenticate(channel));
        }
    }

    private void authenticate(SocketChannel channel) {
        Link link;
        try {
            link = Link.accepted(channel, "rank " + rank);
        } catch (IOException e) {
            Log.LOG.warn("rank {}: dropped an incoming connection: {}", rank, e.getMessage());
            return;
        }
        String remote = link.peer();
        long deadline = System.nanoTime() + handshakeNanos;
        try {
            Handshake.asServer(link, secret, rank, predecessor, worldSize, deadline);
            synchronized (this) { // two authenticated connections at once: only one becomes the ring's
                if (fromPredecessor.isDone()) {
                    Handshake.refuse(link, deadline);
                    throw new Handshake.RefusedException("it authenticated as rank " + predecessor
                            + ", but the ring is already connected (or stopped waiting for it)");
                }
                Handshake.accept(link, deadline);
                link.identifyPeer(predecessorName);
                fromPredecessor.complete(link);
            }
        } catch (Handshake.RefusedException e) {
            link.close();
            Log.LOG.warn("rank {} refused {}: {}", rank, remote, e.getMessage());
        } catch (IOException e) {
            link.close();
            Log.LOG.warn("{}; refused it", e.getMessage()); // names this rank and the remote address already
        }
    }

    /** The authenticated connection from the previous rank, once it arrives; fails at {@code deadlineNanos}. */
    Link awaitPredecessor(long deadlineNanos, long timeoutNanos) throws IOException {
        try {
            return fromPredecessor.get(Math.max(0, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            // A connection that authenticates after this point is refused by authenticate().
            synchronized (this) {
                if (fromPredecessor.isDone()) return fromPredecessor.join(); // arrived just now
                fromPredecessor.cancel(false);
            }
            throw new PeerTimeoutException("rank " + rank + ": " + predecessorName + " did not connect and"
                    + " authenticate within " + Link.seconds(timeoutNanos));
        } catch (ExecutionException e) {
            throw new IOException("rank " + rank + ": waiting for " + predecessorName + " failed", e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            fromPredecessor.cancel(false);
            throw new InterruptedIOException("rank " + rank + ": interrupted while waiting for "
                    + predecessorName + " to connect");
        }
    }

    /** Stops accepting (closes the listener) and closes the predecessor connection if one arrived. */
    void stop() {
        listener.close();
        if (!fromPredecessor.cancel(false) && !fromPredecessor.isCompletedExceptionally()) {
            fromPredecessor.join().close(); // idempotent: the ring that took it may have closed it already
        }
    }

    private static void pause() {
        try {
            Thread.sleep(100);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
