package dev.jllama.data.shard;

/** How many bytes one token takes in a shard: uint16 when the vocabulary fits, else uint32. */
public enum TokenWidth {
    UINT16(2),
    UINT32(4);

    private final int bytes;

    TokenWidth(int bytes) {
        this.bytes = bytes;
    }

    public int bytes() {
        return bytes;
    }

    /** The narrowest width that holds every id of a vocabulary of {@code vocabSize} entries. */
    public static TokenWidth forVocabulary(int vocabSize) {
        if (vocabSize <= 0) throw new IllegalArgumentException("vocabulary size must be positive, got " + vocabSize);
        return vocabSize <= 65536 ? UINT16 : UINT32;
    }

    public static TokenWidth ofBytes(int bytes) {
        for (TokenWidth w : values()) {
            if (w.bytes == bytes) return w;
        }
        throw new IllegalArgumentException("token width must be 2 or 4 bytes, got " + bytes);
    }
}
