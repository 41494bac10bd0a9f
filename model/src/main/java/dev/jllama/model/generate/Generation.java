package dev.jllama.model.generate;

import dev.jllama.model.Decoder;
import java.util.Arrays;
import java.util.function.IntConsumer;

/** The decoding loop: the prompt through the cache at once, then one token at a time until a stop. */
public final class Generation {
    private Generation() {}

    /** Why generation stopped. */
    public enum Stop {
        /** the model produced the end-of-sequence token (not included in the tokens) */
        EOS,
        /** {@code maxTokens} were generated */
        MAX_TOKENS,
        /** the decoder's context is full */
        CONTEXT
    }

    /**
     * @param tokens        the generated ids
     * @param promptSeconds time to run the prompt through the model
     * @param decodeSeconds time from then to the last generated token
     */
    public record Result(int[] tokens, Stop stop, int promptTokens, double promptSeconds, double decodeSeconds) {
        public double promptTokensPerSecond() {
            return promptTokens / promptSeconds;
        }

        public double tokensPerSecond() {
            return tokens.length / decodeSeconds;
        }
    }

    /**
     * Generates after {@code prompt} (at least one token) until {@code stopId}, {@code maxTokens} or a full
     * context, telling {@code onToken} each generated id as soon as it is chosen.
     */
    public static Result run(Decoder decoder, int[] prompt, int maxTokens, int stopId, Sampler sampler,
                             IntConsumer onToken) {
        if (prompt.length == 0) throw new IllegalArgumentException("the prompt has no tokens");
        if (maxTokens < 0) throw new IllegalArgumentException("--max-tokens must be >= 0, got " + maxTokens);
        if (prompt.length > decoder.capacity()) {
            throw new IllegalArgumentException("the prompt has " + prompt.length + " tokens; the model's context is "
                    + decoder.capacity());
        }
        decoder.reset();
        long start = System.nanoTime();
        float[] logits = decoder.append(prompt);
        long prompted = System.nanoTime();
        int[] out = new int[maxTokens];
        int n = 0;
        Stop stop = Stop.MAX_TOKENS;
        while (n < maxTokens) {
            int token = sampler.next(logits);
            if (token == stopId) {
                stop = Stop.EOS;
                break;
            }
            out[n++] = token;
            onToken.accept(token);
            if (n == maxTokens) break;
            if (decoder.position() == decoder.capacity()) {
                stop = Stop.CONTEXT;
                break;
            }
            logits = decoder.append(new int[] {token});
        }
        long end = System.nanoTime();
        return new Result(Arrays.copyOf(out, n), stop, prompt.length, (prompted - start) / 1e9, (end - prompted) / 1e9);
    }
}
