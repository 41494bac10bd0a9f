/**
 * SentencePiece-compatible BPE tokenizer: {@link dev.jllama.data.tokenizer.Tokenizer} loads a SentencePiece
 * {@code .model} (protobuf ModelProto, read with protobuf-java's wire streams) and encodes/decodes as SentencePiece
 * 0.1.97 does; {@link dev.jllama.data.tokenizer.BpeTrainer} trains such models with word counting on Spark.
 *
 * <p>Exactness is checked against python3-sentencepiece 0.1.97 output (fixtures made by
 * data/src/test/python/make_tokenizer_fixtures.py). Supported: BPE models with identity normalization (LLaMA's)
 * or a precompiled charsmap (nmt_nfkc and the like), dummy prefix, removal of extra spaces, byte fallback,
 * {@code <unk>} (runs merged when byte fallback is off), control, user-defined and unused pieces. Not supported,
 * rejected with an error naming the model: unigram/word/char models and treat_whitespace_as_suffix. The trainer
 * always writes identity-normalized models.
 *
 * <p>Invalid UTF-8 given to {@code encodeUtf8} is first decoded as Python's {@code decode('utf-8', 'replace')} does
 * (one U+FFFD per maximal invalid subsequence) and the text then encoded. SentencePiece's C++ API given the raw
 * bytes would instead replace every invalid byte separately; Python users hand it decoded text, which is what the
 * project's fixtures and data preparation assume.
 */
package dev.jllama.data.tokenizer;
