package dev.jllama.scoring;

import dev.jllama.data.prepare.BundledCorpus;
import dev.jllama.data.tokenizer.Tokenizer;
import dev.jllama.model.Initializer;
import dev.jllama.model.LlamaConfig;
import dev.jllama.model.LlamaModel;
import dev.jllama.model.backend.Backends;
import dev.jllama.model.eval.Perplexity;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;

/**
 * {@code llama bench --what perplexity}: the perplexity signal's scoring throughput against {@code eval}'s on the same
 * model, threads and documents, measured interleaved in one run. The documents are runs of {@value #SENTENCES}
 * sentences of the bundled corpus (a few hundred tokens each, so most end in a partial window, as web pages do);
 * the scorer takes their texts (tokenising them is part of its time), eval their tokens packed back to back with EOS
 * between them, as a prepared dataset stores them, in full windows. Both count predicted tokens.
 */
public final class PerplexityBenchmark {
    private PerplexityBenchmark() {}

    static final int SENTENCES = 12;

    public static Map<String, Object> run(String preset, Integer seqLenOrNull, int batch, int rounds, int threads,
                                          int minTokens, PrintStream out) throws IOException {
        LlamaConfig config = LlamaConfig.resolve(preset);
        int seqLen = seqLenOrNull != null ? seqLenOrNull : Math.min(256, config.maxSeqLen());
        if (seqLen > config.maxSeqLen()) {
            throw new IllegalArgumentException("--seq-len " + seqLen + " exceeds model " + preset + "'s max_seq_len "
                    + config.maxSeqLen());
        }
        Tokenizer tokenizer = Tokenizer.bundled();
        List<String> texts = new ArrayList<>();
        List<Integer> packed = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(new GZIPInputStream(
                BundledCorpus.class.getResourceAsStream(BundledCorpus.RESOURCE)), StandardCharsets.UTF_8))) {
            List<String> sentences = new ArrayList<>();
            for (String line; packed.size() < minTokens && (line = r.readLine()) != null; ) {
                if (!line.isBlank()) sentences.add(line.strip());
                if (sentences.size() == SENTENCES) {
                    String text = String.join(" ", sentences);
                    texts.add(text);
                    for (int id : tokenizer.encode(text)) packed.add(id);
                    packed.add(tokenizer.eosId());
                    sentences.clear();
                }
            }
        }
        List<int[]> windows = new ArrayList<>();
        for (int start = 0; start + seqLen + 1 <= packed.size(); start += seqLen) {
            int[] w = new int[seqLen + 1];
            for (int i = 0; i <= seqLen; i++) w[i] = packed.get(start + i);
            windows.add(w);
        }
        PerplexityScorer scorer = new PerplexityScorer(null, seqLen, batch * seqLen, threads);
        out.printf("perplexity scoring against eval: model %s, %d thread(s), windows of %d, %d per pass; %,d documents"
                + " of %d sentences (%,d tokens)%n", preset, threads, seqLen, batch, texts.size(), SENTENCES,
                packed.size() - texts.size());
        try (LlamaModel model = new LlamaModel(config, Backends.create("cpu", -1, threads))) {
            Initializer.initialize(model, 1);
            int[] tokenBytes = tokenizer.textBytesPerToken();
            // An untimed pass of both first: the JIT compiles the kernels at every shape the scorer's passes take.
            Perplexity.evaluate(model, windows, batch, tokenBytes);
            scorer.perplexities(model, tokenizer, texts);
            double evalSeconds = 0, scorerSeconds = 0;
            long evalTokens = 0, scorerTokens = 0;
            for (int round = 1; round <= rounds; round++) {
                long t0 = System.nanoTime();
                Perplexity.Result e = Perplexity.evaluate(model, windows, batch, tokenBytes);
                long t1 = System.nanoTime();
                scorer.perplexities(model, tokenizer, texts);
                long t2 = System.nanoTime();
                long scored = packed.size() - texts.size(); // each document's tokens, predicted after its EOS
                out.printf("round %d: eval %,.0f tokens/s, scorer %,.0f tokens/s%n", round, e.tokens() / ((t1 - t0) / 1e9),
                        scored / ((t2 - t1) / 1e9));
                evalSeconds += (t1 - t0) / 1e9;
                scorerSeconds += (t2 - t1) / 1e9;
                evalTokens += e.tokens();
                scorerTokens += scored;
            }
            double evalRate = evalTokens / evalSeconds / threads, scorerRate = scorerTokens / scorerSeconds / threads;
            Map<String, Object> result = new LinkedHashMap<>();
            result.put("what", "perplexity");
            result.put("model", preset);
            result.put("threads", threads);
            result.put("seq_len", seqLen);
            result.put("batch", batch);
            result.put("documents", texts.size());
            result.put("eval_tokens_per_s_per_core", evalRate);
            result.put("scorer_tokens_per_s_per_core", scorerRate);
            result.put("ratio", scorerRate / evalRate);
            out.printf("perplexity: scorer %,.0f tokens/s per core, eval %,.0f; ratio %.2f%n", scorerRate, evalRate,
                    scorerRate / evalRate);
            return result;
        }
    }
}
