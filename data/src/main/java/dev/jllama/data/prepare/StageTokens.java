package dev.jllama.data.prepare;

import dev.jllama.data.tokenizer.Tokenizer;

/**
 * Every stage's tokens without encoding every document as it is read. A document's tokens (of its cleaned text, EOS
 * included) are counted where it leaves the job: by the step that removes it, by the line filter when that changes
 * its text, or by the shard writer, which encodes it anyway. A stage's tokens are then those of the documents kept
 * to the end plus those every later stage removed ({@link PrepareReport#keptTokens}). Only the documents some step
 * removes or changes are encoded twice.
 */
final class StageTokens {
    private StageTokens() {}

    /** A document's tokens not counted yet (its text is not empty). */
    static final int UNCOUNTED = -1;

    /** The tokenizer counting on this executor (one per model and JVM), or null when stages count no tokens. */
    static Tokenizer counter(byte[] model) {
        return model == null ? null : Tokenizer.shared(model, "tokenizer.model");
    }

    /** The tokens of the document's text as cleaned: as counted before, else counted now from the text it holds. */
    static int of(Doc d, Tokenizer t) {
        if (d.tokens() != UNCOUNTED) return d.tokens();
        byte[] utf8 = d.utf8();
        if (utf8.length == 0) throw new IllegalStateException("document " + d.key() + " lost its text before its tokens were counted");
        return t.encodeUtf8(utf8, 0, utf8.length).length + 1;
    }

    /**
     * The document with its tokens counted before the line filter changes its text ({@code filtered} differs from
     * its text); as it is otherwise, its text still the one cleaned.
     */
    static Doc beforeChange(Doc d, String filtered, Tokenizer t) {
        return t == null || filtered == d.text() || d.tokens() != UNCOUNTED ? d : d.withTokens(of(d, t));
    }
}
