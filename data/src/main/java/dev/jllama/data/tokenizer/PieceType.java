package dev.jllama.data.tokenizer;

/** SentencePiece's {@code ModelProto.SentencePiece.Type}, with the wire numbers of sentencepiece_model.proto. */
public enum PieceType {
    NORMAL(1), UNKNOWN(2), CONTROL(3), USER_DEFINED(4), UNUSED(5), BYTE(6);

    public final int wire;

    PieceType(int wire) {
        this.wire = wire;
    }

    static PieceType fromWire(int wire, String context) {
        for (PieceType t : values()) if (t.wire == wire) return t;
        throw new IllegalArgumentException(context + ": unknown piece type " + wire);
    }
}
