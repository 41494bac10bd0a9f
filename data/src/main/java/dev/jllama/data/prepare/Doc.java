package dev.jllama.data.prepare;

import java.io.Externalizable;
import java.io.IOException;
import java.io.ObjectInput;
import java.io.ObjectOutput;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;

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
 * @param tokens     the tokens of its text as cleaned (EOS included, 0 when empty), counted when it was read with a
 *                   known tokenizer, else 0; later changes to the text (frequent lines removed) leave it as it is
 */
record Doc(String key, double draw, String source, String location, String text, String removedBy, String exactGroup,
           String nearGroup, int tokens) implements Serializable {

    Doc(String key, double draw, String source, String location, String text) {
        this(key, draw, source, location, text, null, null, null, 0);
    }

    static Doc of(Document cleaned) {
        byte[] sha = DocumentHash.sha256(cleaned.text());
        return new Doc(DocumentHash.key(sha), DocumentHash.splitDraw(sha), cleaned.source(), cleaned.location(), cleaned.text());
    }

    Doc withText(String t) {
        return new Doc(key, draw, source, location, t, removedBy, exactGroup, nearGroup, tokens);
    }

    Doc removedBy(String step) {
        return new Doc(key, draw, source, location, text, step, exactGroup, nearGroup, tokens);
    }

    Doc groups(String exact, String near) {
        return new Doc(key, draw, source, location, text, removedBy, exact, near, tokens);
    }

    Doc withTokens(int n) {
        return new Doc(key, draw, source, location, text, removedBy, exactGroup, nearGroup, n);
    }

    /** The first 64 bits of the key: the document's node in the near-duplicate graph. */
    long id() {
        return Long.parseUnsignedLong(key, 0, 16, 16);
    }

    long bytes() {
        return Utf8Length.of(text);
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
            byte[] text = doc.text.getBytes(StandardCharsets.UTF_8);
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
            doc = new Doc(key, draw, source, location, new String(text, StandardCharsets.UTF_8), readString(in),
                    readString(in), readString(in), in.readInt());
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
