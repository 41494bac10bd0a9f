package dev.jllama.model;

import dev.jllama.model.backend.Backend;
import dev.jllama.model.backend.IntTensor;
import dev.jllama.model.backend.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * The named buffers of one micro-batch of {@code batch x seqLen} tokens. Saved for backward per layer: the block
 * input, q/k/v after RoPE, the attention output and its log-sum-exp, the post-attention residual and the two
 * feed-forward projections. Recomputed in backward instead of saved (selective recomputation): both RMSNorm
 * outputs and the SwiGLU product, which are cheap elementwise work. The LM head runs over row chunks, so the
 * {@code rows x vocab} logits never exist at once.
 *
 * <p>q, k, v, the attention output and the two feed-forward projections are outputs of products that the next
 * products (or SwiGLU) read: they are allocated with {@link Backend#allocateActivation}, so that in bf16 the backend
 * may keep them as bf16, as autocast does. The residual stream, the normalisation statistics, the log-sum-exp and
 * the backward scratch stay fp32.
 */
public final class Activations {
    /** The shape may change between passes of the same row count: every buffer's size depends on the rows alone. */
    int batch;
    int seqLen;
    final int rows;
    private final int maxSeqLen;
    final int logitRows;

    final IntTensor inputs;
    final IntTensor targets;
    /** Per row, the position where its example starts (packed fine-tuning windows); see {@link #masked}. */
    final IntTensor starts;
    /** Whether the current micro-batch's attention is masked per example by {@link #starts}. */
    boolean masked;
    /** Host staging for the token ids, reused every micro-batch. */
    final int[] hostInputs;
    final int[] hostTargets;
    /** residual[l] is the input of block l; residual[layers] feeds the final norm. */
    final Tensor[] residual;
    final Tensor[] attentionRstd, q, k, v, attentionOut, lse, afterAttention, ffnRstd, gate, up;
    final Tensor normOut, act, finalNormOut, finalRstd, chunkIn, logits, losses;
    // backward scratch
    final Tensor dResidual, dNorm, dAttentionOut, dq, dk, dv, dAct, dGate, dUp, dChunkIn;

    private final List<Tensor> owned = new ArrayList<>();
    private final Backend backend;

    /**
     * @param narrowSaved whether the saved products' outputs may be kept in the backend's precision (false under
     *                    LoRA, whose adapters add into them)
     */
    Activations(LlamaConfig c, Backend backend, int batch, int seqLen, boolean narrowSaved) {
        if (seqLen > c.maxSeqLen()) {
            throw new IllegalArgumentException("sequence length " + seqLen + " exceeds the model's max_seq_len "
                    + c.maxSeqLen());
        }
        this.backend = backend;
        this.maxSeqLen = c.maxSeqLen();
        this.batch = batch;
        this.seqLen = seqLen;
        this.rows = Math.multiplyExact(batch, seqLen);
        this.logitRows = Math.min(rows, Math.max(1, backend.logitChunkRows()));
        int d = c.dim(), kv = c.kvDim(), f = c.hiddenDim(), layers = c.layers();
        hostInputs = new int[rows];
        hostTargets = new int[rows];
        inputs = backend.allocateInts("inputs", rows);
        targets = backend.allocateInts("targets", rows);
        starts = backend.allocateInts("example_starts", rows);
        residual = new Tensor[layers + 1];
        for (int l = 0; l <= layers; l++) residual[l] = alloc("residual." + l, rows * d);
        attentionRstd = perLayer(layers, "attention_rstd", rows);
        q = perLayer(layers, "q", rows * d, narrowSaved);
        k = perLayer(layers, "k", rows * kv, narrowSaved);
        v = perLayer(layers, "v", rows * kv, narrowSaved);
        attentionOut = perLayer(layers, "attention_out", rows * d, narrowSaved);
        lse = perLayer(layers, "attention_lse", batch * c.heads() * seqLen);
        afterAttention = perLayer(layers, "after_attention", rows * d);
        ffnRstd = perLayer(layers, "ffn_rstd", rows);
        gate = perLayer(layers, "ffn_gate", Math.multiplyExact(rows, f), narrowSaved);
        up = perLayer(layers, "ffn_up", Math.multiplyExact(rows, f), narrowSaved);
        normOut = alloc("norm_out", rows * d);
        act = alloc("ffn_act", rows * f);
        finalNormOut = alloc("final_norm_out", rows * d);
        finalRstd = alloc("final_rstd", rows);
        chunkIn = alloc("logits_in", logitRows * d);
        logits = alloc("logits", Math.multiplyExact(logitRows, c.vocabSize()));
        losses = alloc("losses", rows);
        dResidual = alloc("d_residual", rows * d);
        dNorm = alloc("d_norm", rows * d);
        dAttentionOut = alloc("d_attention_out", rows * d);
        dq = alloc("d_q", rows * d);
        dk = alloc("d_k", rows * kv);
        dv = alloc("d_v", rows * kv);
        dAct = alloc("d_act", rows * f);
        dGate = alloc("d_gate", rows * f);
        dUp = alloc("d_up", rows * f);
        dChunkIn = alloc("d_logits_in", logitRows * d);
    }

    /** True when {@code batch x seqLen} fits these buffers exactly, so they can take that shape instead of new ones. */
    boolean fits(int batch, int seqLen) {
        return (long) batch * seqLen == rows && seqLen <= maxSeqLen;
    }

    /** Takes the shape {@code batch x seqLen}, which must {@link #fits fit}; the buffers' contents are not kept. */
    void reshape(int batch, int seqLen) {
        if (!fits(batch, seqLen)) throw new IllegalArgumentException(batch + " x " + seqLen + " is not " + rows + " rows");
        this.batch = batch;
        this.seqLen = seqLen;
    }

    private Tensor alloc(String name, int size) {
        return own(backend.allocate(name, size));
    }

    private Tensor own(Tensor t) {
        owned.add(t);
        return t;
    }

    private Tensor[] perLayer(int layers, String name, int size) {
        return perLayer(layers, name, size, false);
    }

    /** With {@code narrow}, from {@link Backend#allocateActivation}. */
    private Tensor[] perLayer(int layers, String name, int size, boolean narrow) {
        Tensor[] tensors = new Tensor[layers];
        for (int l = 0; l < layers; l++) {
            tensors[l] = narrow ? own(backend.allocateActivation(name + "." + l, size)) : alloc(name + "." + l, size);
        }
        return tensors;
    }

    /** Bytes of activation memory this micro-batch holds (saved activations plus backward scratch). */
    public long bytes() {
        long bytes = 0;
        for (Tensor t : owned) bytes += t.bytes();
        return bytes + 4 * 3L * rows;
    }

    void free() {
        for (Tensor t : owned) backend.free(t);
        owned.clear();
    }
}
