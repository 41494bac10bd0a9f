package dev.jllama.data.tokenizer;

/** One vocabulary entry of a SentencePiece model: its surface string, score and type. */
public record Piece(String piece, float score, PieceType type) {
    public Piece {
        if (piece == null || piece.isEmpty()) throw new IllegalArgumentException("empty piece");
    }
}
