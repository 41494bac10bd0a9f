package dev.jllama.rank;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The line protocol by which rank 0 streams progress to the driver. The driver opens it with a random nonce; the
 * rank answers with HMAC-SHA256(secret, nonce), so that only a task of this job can print into the driver's output;
 * then the rank sends UTF-8 lines, one {@link ProgressMessage} each.
 */
public final class ProgressChannel {
    private static final byte[] PURPOSE = "jllama-progress-v1".getBytes(StandardCharsets.US_ASCII);
    private static final int NONCE_BYTES = 16;

    private ProgressChannel() {}

    /** Driver side: true when the peer proved it holds {@code secret}. */
    public static boolean acceptPeer(Socket socket, byte[] secret) throws IOException {
        byte[] nonce = new byte[NONCE_BYTES];
        new SecureRandom().nextBytes(nonce);
        DataOutputStream out = new DataOutputStream(socket.getOutputStream());
        out.write(nonce);
        out.flush();
        byte[] proof = new byte[32];
        new DataInputStream(socket.getInputStream()).readFully(proof);
        return MessageDigest.isEqual(proof, proof(secret, nonce));
    }

    /** Rank side: answers the driver's challenge. */
    public static void prove(Socket socket, byte[] secret) throws IOException {
        byte[] nonce = new byte[NONCE_BYTES];
        new DataInputStream(socket.getInputStream()).readFully(nonce);
        socket.getOutputStream().write(proof(secret, nonce));
        socket.getOutputStream().flush();
    }

    private static byte[] proof(byte[] secret, byte[] nonce) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret, "HmacSHA256"));
            mac.update(PURPOSE);
            return mac.doFinal(nonce);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is not available", e);
        }
    }
}
