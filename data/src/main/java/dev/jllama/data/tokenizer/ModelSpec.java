package dev.jllama.data.tokenizer;

import java.util.List;

/**
 * The fields of a SentencePiece {@code ModelProto} that encoding, decoding and training need. Defaults follow
 * sentencepiece_model.proto (proto2 defaults apply when a field is absent on the wire).
 *
 * @param modelType TrainerSpec.model_type: 1 unigram, 2 BPE, 3 word, 4 char
 */
public record ModelSpec(
        List<Piece> pieces,
        int modelType,
        int vocabSizeField,
        boolean byteFallback,
        boolean splitDigits,
        boolean allowWhitespaceOnlyPieces,
        boolean treatWhitespaceAsSuffix,
        int maxPieceLength,
        String unkPiece,
        String bosPiece,
        String eosPiece,
        String padPiece,
        String unkSurface,
        String normalizerName,
        byte[] precompiledCharsmap,
        boolean addDummyPrefix,
        boolean removeExtraWhitespaces,
        boolean escapeWhitespaces) {

    public static final int MODEL_TYPE_BPE = 2;

    public ModelSpec {
        pieces = List.copyOf(pieces);
    }
}
