package dev.jllama.model;

import dev.jllama.model.Parameters.Block;
import dev.jllama.model.backend.Backend;
import dev.jllama.model.backend.IntTensor;
import dev.jllama.model.backend.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * Inference for one sequence with a key/value cache: the same layers as {@link LlamaModel}'s forward pass, run over
 * only the new tokens, whose keys and values are appended to a per-layer cache that later tokens attend to. A
 * prompt goes through in chunks of up to {@code chunkRows} tokens, then each generated token alone.
 *
 * <p>RoPE at a position offset reuses the training kernel: the rows of the rotation table for the chunk's
 * positions are copied into a small table, which the kernel reads from position 0.
 */
public final class Decoder implements AutoCloseable {
    private final LlamaModel model;
    private final LlamaConfig config;
    private final Backend backend;
    private final int capacity;
    private final int chunkRows;
    private final Tensor[] keyCache, valueCache;
    private final IntTensor inputs;
    private final Tensor residual, normOut, rstd, q, k, v, attentionOut, projected, gate, up, act, ropeRows;
    private final Tensor headIn, logits;
    private final List<Tensor> owned = new ArrayList<>();
    private int position;

    /**
     * @param capacity  longest sequence this decoder holds (at most the model's max_seq_len)
     * @param chunkRows most tokens one {@link #append} call processes at once
     */
    public Decoder(LlamaModel model, int capacity, int chunkRows) {
        LlamaConfig c = model.config();
        if (capacity <= 0 || capacity > c.maxSeqLen()) {
            throw new IllegalArgumentException("decoder capacity " + capacity + " must be in [1, max_seq_len "
                    + c.maxSeqLen() + "]");
        }
        if (chunkRows <= 0) throw new IllegalArgumentException("chunk rows must be positive, got " + chunkRows);
        this.model = model;
        this.config = c;
        this.backend = model.backend();
        this.capacity = capacity;
        this.chunkRows = Math.min(chunkRows, capacity);
        int n = this.chunkRows, d = c.dim(), kv = c.kvDim(), f = c.hiddenDim();
        keyCache = new Tensor[c.layers()];
        valueCache = new Tensor[c.layers()];
        for (int l = 0; l < c.layers(); l++) {
            keyCache[l] = alloc("k_cache." + l, Math.multiplyExact(capacity, kv));
            valueCache[l] = alloc("v_cache." + l, Math.multiplyExact(capacity, kv));
        }
        inputs = backend.allocateInts("decoder_inputs", n);
        residual = alloc("decoder_residual", n * d);
        normOut = alloc("decoder_norm_out", n * d);
        rstd = alloc("decoder_rstd", n);
        q = alloc("decoder_q", n * d);
        k = alloc("decoder_k", n * kv);
        v = alloc("decoder_v", n * kv);
        attentionOut = alloc("decoder_attention_out", n * d);
        projected = alloc("decoder_projected", n * d);
        gate = alloc("decoder_gate", Math.multiplyExact(n, f));
        up = alloc("decoder_up", Math.multiplyExact(n, f));
        act = alloc("decoder_act", Math.multiplyExact(n, f));
        ropeRows = alloc("decoder_rope_rows", n * c.headDim());
        headIn = alloc("decoder_head_in", d);
        logits = alloc("decoder_logits", c.vocabSize());
    }

    private Tensor alloc(String name, int size) {
        Tensor t = backend.allocate(name, size);
        owned.add(t);
        return t;
    }

    /** Tokens in the cache: the position of the next token. */
    public int position() {
        return position;
    }

    public int capacity() {
        return capacity;
    }

    /** Forgets the sequence; the next token is at position 0. */
    public void reset() {
        position = 0;
    }

    /**
     * Runs {@code tokens} through the model at the next positions, adding them to the cache, and returns the
     * next-token logits after the last of them ({@code vocab} floats).
     */
    public float[] append(int[] tokens) {
        if (tokens.length == 0) throw new IllegalArgumentException("no tokens to append");
        if (position + tokens.length > capacity) {
            throw new IllegalArgumentException("sequence of " + (position + tokens.length)
                    + " tokens exceeds the decoder's capacity of " + capacity);
        }
        int rows = 0;
        for (int from = 0; from < tokens.length; from += chunkRows) {
            rows = Math.min(chunkRows, tokens.length - from);
            int[] chunk = new int[rows];
            System.arraycopy(tokens, from, chunk, 0, rows);
            forwardChunk(chunk);
        }
        float[] out = new float[config.vocabSize()];
        int d = config.dim();
        backend.copy(headIn, 0, normOut, (rows - 1) * d, d);
        backend.matmul(logits, headIn, model.parameters().output.value(), 1, d, config.vocabSize());
        backend.read(logits, 0, out, 0, out.length);
        return out;
    }

    /** Every layer over {@code chunk.length} new tokens; leaves the final norm's output in {@code normOut}. */
    private void forwardChunk(int[] chunk) {
        int n = chunk.length, d = config.dim(), kv = config.kvDim(), f = config.hiddenDim(), hd = config.headDim();
        Parameters p = model.parameters();
        backend.writeInts(inputs, chunk, n);
        backend.embedding(residual, p.tokenEmbedding.value(), inputs, n, d);
        backend.copy(ropeRows, 0, model.ropeTable(), position * hd, n * hd);
        for (int l = 0; l < config.layers(); l++) {
            Block b = p.block(l);
            backend.rmsnorm(normOut, rstd, residual, b.attentionNorm().value(), n, d, config.normEps());
            backend.matmul(q, normOut, b.wq().value(), n, d, d);
            backend.matmul(k, normOut, b.wk().value(), n, d, kv);
            backend.matmul(v, normOut, b.wv().value(), n, d, kv);
            backend.rope(q, ropeRows, n, n, config.heads(), hd, false);
            backend.rope(k, ropeRows, n, n, config.kvHeads(), hd, false);
            backend.copy(keyCache[l], position * kv, k, 0, n * kv);
            backend.copy(valueCache[l], position * kv, v, 0, n * kv);
            backend.attentionCached(attentionOut, q, keyCache[l], valueCache[l], n, position, config.heads(),
                    config.kvHeads(), hd);
            backend.matmul(projected, attentionOut, b.wo().value(), n, d, d);
            backend.add(residual, projected, n * d);

            backend.rmsnorm(normOut, rstd, residual, b.ffnNorm().value(), n, d, config.normEps());
            backend.matmul(gate, normOut, b.w1().value(), n, d, f);
            backend.matmul(up, normOut, b.w3().value(), n, d, f);
            backend.swiglu(act, gate, up, n * f);
            backend.matmul(projected, act, b.w2().value(), n, f, d);
            backend.add(residual, projected, n * d);
        }
        backend.rmsnorm(normOut, rstd, residual, p.finalNorm.value(), n, d, config.normEps());
        position += n;
    }

    @Override
    public void close() {
        for (Tensor t : owned) backend.free(t);
        owned.clear();
    }
}
