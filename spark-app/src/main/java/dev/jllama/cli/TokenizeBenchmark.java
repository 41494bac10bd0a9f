package dev.jllama.cli;

import dev.jllama.data.prepare.BundledCorpus;
import dev.jllama.data.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.GZIPInputStream;
import org.apache.hadoop.conf.Configuration;

/**
 * {@code llama bench --what tokenize}: single-threaded encoding throughput. Encodes the corpus line by line
 * (as the preparation job does, from UTF-8 bytes) once to warm up, then {@code --steps} timed passes whose mean
 * gives {@code mb_per_s}; the warm-up pass (cold JIT and piece cache) is reported as {@code first_pass_mb_per_s}.
 * MB are 10^6 bytes of UTF-8 input.
 */
public final class TokenizeBenchmark {
    private TokenizeBenchmark() {}

    /** @param model the tokenizer file, null for the bundled one; @param input the text, null for the bundled corpus */
    public static Map<String, Object> run(String model, String input, int passes, PrintStream out) throws Exception {
        Configuration hadoop = new Configuration();
        Tokenizer tokenizer = model == null ? Tokenizer.bundled() : Tokenizer.fromBytes(TokenizeCommand.read(hadoop, model), model);
        byte[] text = input == null ? bundledCorpus() : TokenizeCommand.read(hadoop, input);
        String source = input == null ? "bundled corpus " + BundledCorpus.RESOURCE : input;
        out.printf("encoding %s (%,d bytes) with %s, %d timed passes%n", source, text.length, tokenizer.sourceName(), passes);

        // Warm-up pass: JIT and the per-piece cache; reported too, as a fresh tokenizer sees it (cold cache).
        long warmStart = System.nanoTime();
        long tokens = encodeAll(tokenizer, text);
        double firstSeconds = (System.nanoTime() - warmStart) / 1e9;
        out.printf("first pass (cold): %.2f MB/s%n", text.length / firstSeconds / 1e6);
        double best = Double.MAX_VALUE, total = 0;
        for (int pass = 0; pass < passes; pass++) {
            long start = System.nanoTime();
            long n = encodeAll(tokenizer, text);
            double seconds = (System.nanoTime() - start) / 1e9;
            if (n != tokens) throw new IllegalStateException("encoding is not deterministic: " + n + " vs " + tokens + " tokens");
            best = Math.min(best, seconds);
            total += seconds;
            out.printf("pass %d: %.2f MB/s, %,.0f tokens/s%n", pass + 1, text.length / seconds / 1e6, tokens / seconds);
        }
        double mean = total / passes;
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("mb_per_s", text.length / mean / 1e6);
        result.put("tokens_per_s", tokens / mean);
        result.put("bytes", (long) text.length);
        result.put("tokens", tokens);
        result.put("best_mb_per_s", text.length / best / 1e6);
        result.put("first_pass_mb_per_s", text.length / firstSeconds / 1e6);
        result.put("threads", 1);
        out.printf("tokenize: %.2f MB/s (best %.2f), %,.0f tokens/s, %,d tokens%n",
                result.get("mb_per_s"), result.get("best_mb_per_s"), result.get("tokens_per_s"), tokens);
        return result;
    }

    private static long encodeAll(Tokenizer tokenizer, byte[] text) {
        long tokens = 0;
        int start = 0;
        for (int i = 0; i <= text.length; i++) {
            if (i == text.length || text[i] == '\n') {
                if (i > start) tokens += tokenizer.encodeUtf8(text, start, i - start).length;
                start = i + 1;
            }
        }
        return tokens;
    }

    private static byte[] bundledCorpus() throws IOException {
        try (InputStream in = BundledCorpus.class.getResourceAsStream(BundledCorpus.RESOURCE)) {
            if (in == null) throw new IOException("bundled corpus resource " + BundledCorpus.RESOURCE + " is missing");
            return new GZIPInputStream(in).readAllBytes();
        }
    }
}
