package dev.jllama.model.export;

import java.util.List;

/**
 * What the exporters need to know of a SentencePiece tokenizer: every piece with its score and type (SentencePiece's
 * type numbers, which GGUF's {@code tokenizer.ggml.token_type} shares: 1 normal, 2 unknown, 3 control,
 * 4 user-defined, 5 unused, 6 byte), and the ids of its special pieces (-1 when absent). The model module does not
 * read tokenizer files itself; the command line fills this from the data module's tokenizer.
 *
 * @param addDummyPrefix whether encoding puts a space before the text (SentencePiece's {@code add_dummy_prefix})
 * @param modelProto     the tokenizer's {@code tokenizer.model} bytes, copied into Hugging Face exports
 */
public record Vocabulary(List<String> pieces, float[] scores, int[] types, int bosId, int eosId, int unkId, int padId,
                         boolean addDummyPrefix, byte[] modelProto) {
    public static final int NORMAL = 1, UNKNOWN = 2, CONTROL = 3, USER_DEFINED = 4, UNUSED = 5, BYTE = 6;

    public Vocabulary {
        pieces = List.copyOf(pieces);
        if (scores.length != pieces.size() || types.length != pieces.size()) {
            throw new IllegalArgumentException(pieces.size() + " pieces but " + scores.length + " scores and "
                    + types.length + " types");
        }
        for (int i = 0; i < types.length; i++) {
            if (types[i] < NORMAL || types[i] > BYTE) {
                throw new IllegalArgumentException("piece " + i + " has unknown type " + types[i]);
            }
        }
    }

    public int size() {
        return pieces.size();
    }

    /** The piece of a special id, or null when the id is absent. */
    public String piece(int id) {
        return id >= 0 ? pieces.get(id) : null;
    }
}
