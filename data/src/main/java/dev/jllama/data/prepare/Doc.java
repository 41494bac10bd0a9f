package dev.jllama.data.prepare;

import java.io.Serializable;

/**
 * A cleaned document on its way through the job.
 *
 * @param key  hex of the first 16 bytes of the SHA-256 of the cleaned text: dedup key and output order
 * @param draw uniform in [0, 1) from the same hash; decides the split
 */
record Doc(String key, double draw, String text) implements Serializable {

    static Doc of(String cleaned) {
        byte[] sha = DocumentHash.sha256(cleaned);
        return new Doc(DocumentHash.key(sha), DocumentHash.splitDraw(sha), cleaned);
    }

    Doc withText(String t) {
        return new Doc(key, draw, t);
    }
}
