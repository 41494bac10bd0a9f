package dev.jllama.scoring;

import java.util.ArrayList;
import java.util.List;

/**
 * A document's tokens cut into the model's windows for perplexity: the document is {@code [EOS, tokens...]} (EOS
 * precedes every document in a prepared dataset, so the model has seen it before every document start), and window
 * k holds tokens {@code k·L .. k·L + L} (L + 1 tokens: L inputs, L targets; the last window may be shorter). Every
 * token after the leading EOS is predicted exactly once, from at most L tokens before it, as {@code eval} predicts
 * the tokens of its windows.
 */
final class DocumentWindows {
    private DocumentWindows() {}

    /** The windows of {@code document} (which starts with EOS); none when it holds no token to predict. */
    static List<int[]> of(int[] document, int windowTokens) {
        List<int[]> windows = new ArrayList<>();
        for (int start = 0; start + 1 < document.length; start += windowTokens) {
            int end = Math.min(document.length, start + windowTokens + 1);
            windows.add(java.util.Arrays.copyOfRange(document, start, end));
        }
        return windows;
    }
}
