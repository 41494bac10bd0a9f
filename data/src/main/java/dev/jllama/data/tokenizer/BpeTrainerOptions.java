package dev.jllama.data.tokenizer;

import java.io.Serializable;

/**
 * Settings of {@link BpeTrainer}; {@link #llama(int)} gives LLaMA's tokenizer settings. Character coverage is
 * always 1.0 (every character of the corpus becomes a piece) and normalization is always identity.
 *
 * @param vocabSize          total pieces, meta and byte pieces included
 * @param maxPieceLength     longest piece in characters (SentencePiece's max_sentencepiece_length)
 * @param maxSentenceBytes   lines longer than this many UTF-8 bytes are skipped, as SentencePiece's max_sentence_length
 * @param splitDigits        digits never merge with anything (split_digits)
 * @param splitByUnicodeScript a piece never mixes Unicode scripts (split_by_unicode_script)
 * @param allowWhitespaceOnlyPieces runs of ▁ may become pieces (allow_whitespace_only_pieces)
 * @param byteFallback       add {@code <0x00>}..{@code <0xFF>} at ids 3..258 (byte_fallback)
 */
public record BpeTrainerOptions(
        int vocabSize,
        int maxPieceLength,
        int maxSentenceBytes,
        boolean splitDigits,
        boolean splitByUnicodeScript,
        boolean allowWhitespaceOnlyPieces,
        boolean byteFallback) implements Serializable {

    public BpeTrainerOptions {
        if (vocabSize < 4) throw new IllegalArgumentException("vocabSize must be at least 4, got " + vocabSize);
        if (maxPieceLength < 1) throw new IllegalArgumentException("maxPieceLength must be positive, got " + maxPieceLength);
        if (maxSentenceBytes < 1) throw new IllegalArgumentException("maxSentenceBytes must be positive, got " + maxSentenceBytes);
    }

    /** LLaMA's settings: byte fallback, split digits, whitespace-only pieces, pieces up to 16 characters. */
    public static BpeTrainerOptions llama(int vocabSize) {
        return new BpeTrainerOptions(vocabSize, 16, 4192, true, true, true, true);
    }
}
