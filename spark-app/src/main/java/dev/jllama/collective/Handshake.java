package dev.jllama.collective;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Mutual HMAC-SHA256 challenge-response on every new ring connection, before any data:
 * <pre>
 *   client -> server  hello:     magic, version, client rank, server rank, world size, client nonce
 *   server -> client  challenge: server nonce, HMAC(secret, "server", client nonce, server nonce, ranks, world size)
 *   client -> server  proof:     HMAC(secret, "client", client nonce, server nonce, ranks, world size)
 *   server -> client  verdict:   1 accepted; 0 refused, then the server closes
 * </pre>
 * Each MAC covers the other side's fresh nonce, so a recorded exchange cannot be replayed, and the role label keeps
 * one side's MAC from being reflected back as the other's. MACs are compared in constant time.
 */
final class Handshake {
    private static final int MAGIC = 0x4A4C4C52; // "JLLR"
    private static final int VERSION = 1;
    private static final int NONCE_BYTES = 32;
    private static final int MAC_BYTES = 32;
    private static final int HELLO_BYTES = 5 * Integer.BYTES + NONCE_BYTES;
    private static final byte ACCEPTED = 1;
    private static final byte REFUSED = 0;
    private static final SecureRandom RANDOM = new SecureRandom();
    /** Below this a secret is too easy to guess; the driver should hand out 32 random bytes. */
    static final int MIN_SECRET_BYTES = 16;

    /** The server refused the client; the message says why (for the log, never containing the secret). */
    static final class RefusedException extends IOException {
        RefusedException(String message) {
            super(message);
        }
    }

    private Handshake() {
    }

    /** Proves this side to the server it connected to and checks the server's proof. */
    static void asClient(Link link, byte[] secret, int clientRank, int serverRank, int worldSize, long deadlineNanos)
            throws IOException {
        byte[] clientNonce = nonce();
        ByteBuffer hello = ByteBuffer.allocate(HELLO_BYTES)
                .putInt(MAGIC).putInt(VERSION).putInt(clientRank).putInt(serverRank).putInt(worldSize).put(clientNonce)
                .flip();
        link.writeFully(hello, Long.MAX_VALUE, deadlineNanos, () -> "the handshake hello to be taken");

        ByteBuffer challenge = ByteBuffer.allocate(NONCE_BYTES + MAC_BYTES);
        link.readFully(challenge, Long.MAX_VALUE, deadlineNanos, () -> "the handshake challenge");
        challenge.flip();
        byte[] serverNonce = new byte[NONCE_BYTES];
        byte[] serverMac = new byte[MAC_BYTES];
        challenge.get(serverNonce).get(serverMac);
        byte[] expected = mac(secret, "server", clientNonce, serverNonce, clientRank, serverRank, worldSize);
        if (!MessageDigest.isEqual(expected, serverMac)) {
            throw new IOException(link.self() + ": " + link.peer() + " failed authentication (it does not know the"
                    + " shared secret)");
        }

        ByteBuffer proof = ByteBuffer.wrap(mac(secret, "client", clientNonce, serverNonce, clientRank, serverRank,
                worldSize));
        link.writeFully(proof, Long.MAX_VALUE, deadlineNanos, () -> "the handshake proof to be taken");
        ByteBuffer verdict = ByteBuffer.allocate(1);
        link.readFully(verdict, Long.MAX_VALUE, deadlineNanos, () -> "the handshake verdict");
        if (verdict.get(0) != ACCEPTED) {
            throw new IOException(link.self() + ": " + link.peer() + " refused the connection (does it expect rank "
                    + clientRank + " of " + worldSize + " as its predecessor?)");
        }
    }

    /**
     * Checks that the client knows the secret and is {@code expectedClientRank} of the same world, proving this side
     * in turn. The caller then sends the verdict with {@link #accept} or {@link #refuse}.
     *
     * @throws RefusedException if it is not; the client has been told so and the connection should be closed
     */
    static void asServer(Link link, byte[] secret, int serverRank, int expectedClientRank, int worldSize,
                         long deadlineNanos) throws IOException {
        ByteBuffer hello = ByteBuffer.allocate(HELLO_BYTES);
        link.readFully(hello, Long.MAX_VALUE, deadlineNanos, () -> "the handshake hello");
        hello.flip();
        if (hello.getInt() != MAGIC) throw new RefusedException("not a jllama ring handshake");
        int version = hello.getInt();
        if (version != VERSION) {
            throw new RefusedException("handshake version " + version + ", expected " + VERSION);
        }
        int claimedClient = hello.getInt();
        int claimedServer = hello.getInt();
        int claimedWorld = hello.getInt();
        byte[] clientNonce = new byte[NONCE_BYTES];
        hello.get(clientNonce);

        byte[] serverNonce = nonce();
        ByteBuffer challenge = ByteBuffer.allocate(NONCE_BYTES + MAC_BYTES).put(serverNonce)
                .put(mac(secret, "server", clientNonce, serverNonce, claimedClient, claimedServer, claimedWorld))
                .flip();
        link.writeFully(challenge, Long.MAX_VALUE, deadlineNanos, () -> "the handshake challenge to be taken");

        ByteBuffer proof = ByteBuffer.allocate(MAC_BYTES);
        link.readFully(proof, Long.MAX_VALUE, deadlineNanos, () -> "the handshake proof");
        byte[] expected = mac(secret, "client", clientNonce, serverNonce, claimedClient, claimedServer, claimedWorld);
        if (!MessageDigest.isEqual(expected, proof.array())) {
            refuse(link, deadlineNanos);
            throw new RefusedException("wrong HMAC (the peer does not know the shared secret)");
        }
        if (claimedServer != serverRank || claimedWorld != worldSize || claimedClient != expectedClientRank) {
            refuse(link, deadlineNanos);
            throw new RefusedException("authenticated peer claims to be rank " + claimedClient + " of " + claimedWorld
                    + " connecting to rank " + claimedServer + "; expected rank " + expectedClientRank + " of "
                    + worldSize + " connecting to rank " + serverRank);
        }
    }

    /** Tells an authenticated client that the server takes its connection. */
    static void accept(Link link, long deadlineNanos) throws IOException {
        link.writeFully(ByteBuffer.wrap(new byte[] {ACCEPTED}), Long.MAX_VALUE, deadlineNanos,
                () -> "the handshake verdict to be taken");
    }

    /** Tells the client it is refused; the caller closes the connection. */
    static void refuse(Link link, long deadlineNanos) {
        try {
            link.writeFully(ByteBuffer.wrap(new byte[] {REFUSED}), Long.MAX_VALUE, deadlineNanos,
                    () -> "the handshake verdict to be taken");
        } catch (IOException ignored) {
            // The peer learns of the refusal from the closed connection instead.
        }
    }

    private static byte[] nonce() {
        byte[] nonce = new byte[NONCE_BYTES];
        RANDOM.nextBytes(nonce);
        return nonce;
    }

    private static byte[] mac(byte[] secret, String role, byte[] clientNonce, byte[] serverNonce, int clientRank,
                              int serverRank, int worldSize) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret, "HmacSHA256"));
            mac.update(role.getBytes(StandardCharsets.US_ASCII));
            mac.update(clientNonce);
            mac.update(serverNonce);
            mac.update(ByteBuffer.allocate(3 * Integer.BYTES).putInt(clientRank).putInt(serverRank).putInt(worldSize)
                    .array());
            return mac.doFinal();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is unavailable in this JVM", e);
        }
    }
}
