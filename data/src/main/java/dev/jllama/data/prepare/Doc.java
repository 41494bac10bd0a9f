package dev.jllama.data.prepare;

import java.io.Externalizable;
import java.io.IOException;
import java.io.ObjectInput;
import java.io.ObjectOutput;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;

/**
 * A cleaned document on its way through the job. Its text is held as a String, as UTF-8 bytes, or both: a
 * document read back from a persisted step or a shuffle keeps the bytes it was written with and decodes them only
 * when a step reads the text, and one written again unchanged writes the same bytes without encoding them anew
 * (steps that only count, sort or route documents never convert their texts).
 * <p>
 * Fields: {@code key} hex of the first 16 bytes of the SHA-256 of the cleaned text (exact-dedup key and output
 * order); {@code draw} uniform in [0, 1) from the same hash, which decides the split; {@code source} the source it
 * counts for; {@code location} its URL or file; {@code removedBy} when annotating, the step that removed it (null
 * while it is kept); {@code exactGroup} when annotating, its key if its text occurs more than once, else null;
 * {@code nearGroup} when annotating, the key of the document kept for its near-duplicate group, else null;
 * {@code tokens} the tokens of its text as cleaned (EOS included, 0 when empty), or {@link StageTokens#UNCOUNTED}
 * until a step counts them (later changes to the text, frequent lines removed, leave it as it is).
 */
final class Doc implements Serializable {
    private final String key;
    private final double draw;
    private final String source;
    private final String location;
    private String text; // null until decoded from utf8
    private byte[] utf8; // null until encoded from text
    private final String removedBy;
    private final String exactGroup;
    private final String nearGroup;
    private final int tokens;

    Doc(String key, double draw, String source, String location, String text, String removedBy, String exactGroup,
        String nearGroup, int tokens) {
        this(key, draw, source, location, java.util.Objects.requireNonNull(text), null, removedBy, exactGroup, nearGroup,
                tokens);
    }

    Doc(String key, double draw, String source, String location, String text) {
        this(key, draw, source, location, text, null, null, null, 0);
    }

    private Doc(String key, double draw, String source, String location, String text, byte[] utf8, String removedBy,
                String exactGroup, String nearGroup, int tokens) {
        this.key = key;
        this.draw = draw;
        this.source = source;
        this.location = location;
        this.text = text;
        this.utf8 = utf8;
        this.removedBy = removedBy;
        this.exactGroup = exactGroup;
        this.nearGroup = nearGroup;
        this.tokens = tokens;
    }

    /** A document as serialised: its text as the UTF-8 bytes it was written with. */
    static Doc fromUtf8(String key, double draw, String source, String location, byte[] utf8, String removedBy,
                        String exactGroup, String nearGroup, int tokens) {
        return new Doc(key, draw, source, location, null, utf8, removedBy, exactGroup, nearGroup, tokens);
    }

    static Doc of(Document cleaned) {
        byte[] utf8 = cleaned.text().getBytes(StandardCharsets.UTF_8);
        byte[] sha = DocumentHash.sha256(utf8);
        return new Doc(DocumentHash.key(sha), DocumentHash.splitDraw(sha), cleaned.source(), cleaned.location(),
                cleaned.text(), utf8, null, null, null, utf8.length == 0 ? 0 : StageTokens.UNCOUNTED);
    }

    String key() {
        return key;
    }

    double draw() {
        return draw;
    }

    String source() {
        return source;
    }

    String location() {
        return location;
    }

    String text() {
        if (text == null) text = new String(utf8, StandardCharsets.UTF_8);
        return text;
    }

    /** The text's UTF-8 bytes (not to be changed). */
    byte[] utf8() {
        if (utf8 == null) utf8 = text.getBytes(StandardCharsets.UTF_8);
        return utf8;
    }

    String removedBy() {
        return removedBy;
    }

    String exactGroup() {
        return exactGroup;
    }

    String nearGroup() {
        return nearGroup;
    }

    int tokens() {
        return tokens;
    }

    /** The document with another text; the same String keeps the bytes it may hold. */
    Doc withText(String t) {
        return new Doc(key, draw, source, location, t, t == text ? utf8 : null, removedBy, exactGroup, nearGroup, tokens);
    }

    Doc removedBy(String step) {
        return new Doc(key, draw, source, location, text, utf8, step, exactGroup, nearGroup, tokens);
    }

    Doc groups(String exact, String near) {
        return new Doc(key, draw, source, location, text, utf8, removedBy, exact, near, tokens);
    }

    Doc withTokens(int n) {
        return new Doc(key, draw, source, location, text, utf8, removedBy, exactGroup, nearGroup, n);
    }

    /** The first 64 bits of the key: the document's node in the near-duplicate graph. */
    long id() {
        return Long.parseUnsignedLong(key, 0, 16, 16);
    }

    /** The text's UTF-8 size, from whichever form the document holds. */
    long bytes() {
        return utf8 != null ? utf8.length : Utf8Length.of(text);
    }

    /** The text's length in UTF-16 units (String.length()), without decoding it: a 4-byte sequence is 2 units. */
    long chars() {
        if (text != null) return text.length();
        long n = 0;
        for (byte b : utf8) {
            if ((b & 0xC0) != 0x80) n++; // not a continuation byte
            if ((b & 0xF8) == 0xF0) n++; // starts a 4-byte sequence: a surrogate pair
        }
        return n;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Doc d && key.equals(d.key) && Double.compare(draw, d.draw) == 0
                && Objects.equals(source, d.source) && Objects.equals(location, d.location)
                && Arrays.equals(utf8(), d.utf8()) && Objects.equals(removedBy, d.removedBy)
                && Objects.equals(exactGroup, d.exactGroup) && Objects.equals(nearGroup, d.nearGroup)
                && tokens == d.tokens;
    }

    @Override
    public int hashCode() {
        return Objects.hash(key, source, location, removedBy);
    }

    @Override
    public String toString() {
        return "Doc[key=" + key + ", source=" + source + ", location=" + location + ", removedBy=" + removedBy
                + ", bytes=" + bytes() + "]";
    }

    /** Serialised as {@link Form}: every persisted or shuffled document goes through here. */
    @java.io.Serial
    private Object writeReplace() {
        return new Form(this);
    }

    /**
     * A document's serialised form. Java serialisation writes a record's long String field in modified UTF-8, one
     * char at a time, and reads it back the same way; that was a fifth of the job's executor time. The text goes
     * as one UTF-8 byte array instead (String's own encoder and decoder), which is lossless because a cleaned text
     * holds no unpaired surrogate ({@link TextCleaner} removes them, and every later text is a part of one).
     */
    static final class Form implements Externalizable {
        @java.io.Serial
        private static final long serialVersionUID = 1L;
        private static final int UTF_SAFE_CHARS = 65535 / 3; // writeUTF's limit is 65,535 bytes, at most 3 per char

        private Doc doc;

        /** For deserialisation. */
        public Form() {}

        Form(Doc doc) {
            this.doc = doc;
        }

        @Override
        public void writeExternal(ObjectOutput out) throws IOException {
            writeString(out, doc.key);
            out.writeDouble(doc.draw);
            writeString(out, doc.source);
            writeString(out, doc.location);
            byte[] text = doc.utf8();
            out.writeInt(text.length);
            out.write(text);
            writeString(out, doc.removedBy);
            writeString(out, doc.exactGroup);
            writeString(out, doc.nearGroup);
            out.writeInt(doc.tokens);
        }

        @Override
        public void readExternal(ObjectInput in) throws IOException {
            String key = readString(in);
            double draw = in.readDouble();
            String source = readString(in);
            String location = readString(in);
            byte[] text = new byte[in.readInt()];
            in.readFully(text);
            doc = fromUtf8(key, draw, source, location, text, readString(in), readString(in), readString(in), in.readInt());
        }

        @java.io.Serial
        private Object readResolve() {
            return doc;
        }

        /** Any string, null included, exactly (unpaired surrogates too): writeUTF when it surely fits, else chars. */
        private static void writeString(ObjectOutput out, String s) throws IOException {
            if (s == null) {
                out.writeInt(-1);
            } else if (s.length() <= UTF_SAFE_CHARS) {
                out.writeInt(0);
                out.writeUTF(s);
            } else {
                out.writeInt(s.length());
                out.writeChars(s);
            }
        }

        private static String readString(ObjectInput in) throws IOException {
            int mode = in.readInt();
            if (mode < 0) return null;
            if (mode == 0) return in.readUTF();
            char[] chars = new char[mode];
            for (int i = 0; i < mode; i++) chars[i] = in.readChar();
            return new String(chars);
        }
    }
}
