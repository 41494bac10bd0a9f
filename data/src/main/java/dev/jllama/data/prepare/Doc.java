package dev.jllama.data.prepare;

import java.io.Serializable;

/**
 * A cleaned document on its way through the job.
 *
 * @param key      hex of the first 16 bytes of the SHA-256 of the cleaned text: exact-dedup key and output order
 * @param draw     uniform in [0, 1) from the same hash; decides the split
 * @param source   the source it counts for
 * @param location its URL or file
 * @param removedBy  when annotating: the step that removed it (null while it is kept)
 * @param exactGroup when annotating: its key if its text occurs more than once, else null
 * @param nearGroup  when annotating: the key of the document kept for its near-duplicate group, else null
 */
record Doc(String key, double draw, String source, String location, String text, String removedBy, String exactGroup,
           String nearGroup) implements Serializable {

    Doc(String key, double draw, String source, String location, String text) {
        this(key, draw, source, location, text, null, null, null);
    }

    static Doc of(Document cleaned) {
        byte[] sha = DocumentHash.sha256(cleaned.text());
        return new Doc(DocumentHash.key(sha), DocumentHash.splitDraw(sha), cleaned.source(), cleaned.location(), cleaned.text());
    }

    Doc withText(String t) {
        return new Doc(key, draw, source, location, t, removedBy, exactGroup, nearGroup);
    }

    Doc removedBy(String step) {
        return new Doc(key, draw, source, location, text, step, exactGroup, nearGroup);
    }

    Doc groups(String exact, String near) {
        return new Doc(key, draw, source, location, text, removedBy, exact, near);
    }

    /** The first 64 bits of the key: the document's node in the near-duplicate graph. */
    long id() {
        return Long.parseUnsignedLong(key, 0, 16, 16);
    }

    long bytes() {
        return Utf8Length.of(text);
    }
}
