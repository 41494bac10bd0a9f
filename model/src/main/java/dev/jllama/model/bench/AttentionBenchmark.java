package dev.jllama.model.bench;

import dev.jllama.model.LlamaConfig;
import dev.jllama.model.backend.Backend;
import dev.jllama.model.backend.Tensor;
import java.util.List;

/**
 * Causal attention of a model's heads at {@code batch x seqLen} tokens, forward and backward, each timed as the
 * median of its repetitions. FLOPs are counted as FlashAttention does, over the causal half of the score matrix
 * ({@code T (T + 1) / 2} query-key pairs per head): 2 products of {@code 2 hd} flops per pair forward, 5 backward
 * (kernels that recompute scores do more work than this counts).
 */
public final class AttentionBenchmark {
    private AttentionBenchmark() {}

    public record Result(int batch, int seqLen, int heads, int kvHeads, int headDim, double forwardSeconds,
                         double backwardSeconds) {
        double pairFlops() {
            return (double) batch * heads * seqLen * (seqLen + 1) / 2 * 2.0 * headDim;
        }

        public double forwardGflops() {
            return 2 * pairFlops() / forwardSeconds / 1e9;
        }

        public double backwardGflops() {
            return 5 * pairFlops() / backwardSeconds / 1e9;
        }
    }

    public static Result run(Backend backend, LlamaConfig c, int batch, int seqLen, int reps) {
        int heads = c.heads(), kvHeads = c.kvHeads(), hd = c.headDim();
        int qSize = batch * seqLen * heads * hd, kvSize = batch * seqLen * kvHeads * hd;
        Tensor q = MatmulBenchmark.upload(backend, "q", MatmulBenchmark.random(qSize, 1));
        Tensor k = MatmulBenchmark.upload(backend, "k", MatmulBenchmark.random(kvSize, 2));
        Tensor v = MatmulBenchmark.upload(backend, "v", MatmulBenchmark.random(kvSize, 3));
        Tensor dout = MatmulBenchmark.upload(backend, "dout", MatmulBenchmark.random(qSize, 4));
        Tensor out = backend.allocate("out", qSize), lse = backend.allocate("lse", batch * heads * seqLen);
        Tensor dq = backend.allocate("dq", qSize), dk = backend.allocate("dk", kvSize), dv = backend.allocate("dv", kvSize);
        Runnable forward = () -> backend.attention(out, lse, q, k, v, batch, seqLen, heads, kvHeads, hd);
        Runnable backward = () -> backend.attentionBackward(dq, dk, dv, dout, out, lse, q, k, v,
                batch, seqLen, heads, kvHeads, hd);
        // Warm-up: JIT or kernel compilation, first touch.
        MatmulBenchmark.time(backend, lse, forward, 2);
        MatmulBenchmark.time(backend, dv, backward, 2);
        double forwardSeconds = MatmulBenchmark.medianRepetition(backend, lse, forward, reps);
        double backwardSeconds = MatmulBenchmark.medianRepetition(backend, dv, backward, reps);
        for (Tensor t : List.of(q, k, v, dout, out, lse, dq, dk, dv)) backend.free(t);
        return new Result(batch, seqLen, heads, kvHeads, hd, forwardSeconds, backwardSeconds);
    }
}
