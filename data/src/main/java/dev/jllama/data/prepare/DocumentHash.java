package dev.jllama.data.prepare;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * SHA-256 of a cleaned document. Its first 16 bytes (as hex) are the document's key: exact duplicates share it,
 * and sorting by it gives an order that depends on the content alone (not on input order or partitioning), which
 * also scatters documents of one source across the shards. The next 8 bytes pick the split.
 */
public final class DocumentHash {
    private DocumentHash() {}

    public static byte[] sha256(String text) {
        return sha256(text.getBytes(StandardCharsets.UTF_8));
    }

    /** Of the text's UTF-8 bytes. */
    public static byte[] sha256(byte[] utf8) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(utf8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK lacks SHA-256", e);
        }
    }

    public static String key(byte[] sha) {
        return HexFormat.of().formatHex(sha, 0, 16);
    }

    /** Uniform in [0, 1) from bytes 16..23; a document goes to validation when this is below the val fraction. */
    public static double splitDraw(byte[] sha) {
        long v = 0;
        for (int i = 16; i < 24; i++) v = (v << 8) | (sha[i] & 0xFF);
        return (v >>> 11) * 0x1.0p-53;
    }
}
