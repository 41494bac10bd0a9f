package dev.jllama.model;

import dev.jllama.model.Parameters.Block;
import dev.jllama.model.backend.Backend;
import dev.jllama.model.backend.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * The LLaMA network with one explicit forward and one explicit backward function per layer, in the manner of
 * llm.c: pre-norm blocks of RMSNorm → grouped-query causal attention with RoPE → residual, RMSNorm → SwiGLU
 * feed-forward → residual; then a final RMSNorm, the LM head and mean cross-entropy. No biases.
 *
 * <p>All tensors live on the {@link Backend}; the host sees only the loss.
 */
public final class LlamaModel implements AutoCloseable {
    private final LlamaConfig config;
    private final Backend backend;
    private final Parameters params;
    private final Tensor ropeTable;
    private Activations acts;
    /** LoRA adapters when fine-tuning with them: then only they train, and the base weights' gradients are skipped. */
    private Lora lora;

    public LlamaModel(LlamaConfig config, Backend backend) {
        this.config = config;
        this.backend = backend;
        this.params = new Parameters(config, backend);
        this.ropeTable = backend.allocate("rope_table", config.maxSeqLen() * config.headDim());
        backend.write(ropeTable, 0, ropeTable(config), 0, ropeTable.size());
    }

    /** {@code cos, sin} per (position, pair), computed in double precision. */
    static float[] ropeTable(LlamaConfig c) {
        int half = c.headDim() / 2;
        float[] table = new float[c.maxSeqLen() * half * 2];
        for (int pos = 0; pos < c.maxSeqLen(); pos++) {
            for (int j = 0; j < half; j++) {
                double freq = Math.pow(c.ropeTheta(), -2.0 * j / c.headDim());
                double angle = pos * freq;
                table[(pos * half + j) * 2] = (float) Math.cos(angle);
                table[(pos * half + j) * 2 + 1] = (float) Math.sin(angle);
            }
        }
        return table;
    }

    public LlamaConfig config() {
        return config;
    }

    public Backend backend() {
        return backend;
    }

    public Parameters parameters() {
        return params;
    }

    /**
     * Adds LoRA adapters (initialised from {@code seed}) to the targets {@code spec} names: from now on they are
     * what {@link #trainable()} returns, and the backward pass computes only their gradients (and the activations'
     * it needs), leaving the base weights frozen.
     */
    public Lora enableLora(Lora.Spec spec, long seed) {
        if (lora != null) throw new IllegalStateException("LoRA adapters are already enabled");
        if (acts != null) { // the adapters add into saved outputs, which must then stay fp32
            acts.free();
            acts = null;
        }
        lora = new Lora(config, backend, spec);
        lora.initialize(seed);
        return lora;
    }

    /** The adapters, or null without LoRA. */
    public Lora lora() {
        return lora;
    }

    /** What the optimizer updates: the adapters under LoRA, else every parameter. */
    public Parameters trainable() {
        return lora != null ? lora.parameters() : params;
    }

    /** Bytes of the activation buffers for {@code batch x seqLen}, the adapters' included. */
    public long activationBytes(int batch, int seqLen) {
        return activations(batch, seqLen).bytes() + (lora == null ? 0 : lora.activationBytes());
    }

    Tensor ropeTable() {
        return ropeTable;
    }

    /** The activation buffers for micro-batches of {@code batch x seqLen}, reallocated when the row count changes. */
    public Activations activations(int batch, int seqLen) {
        if (acts != null && acts.fits(batch, seqLen)) {
            acts.reshape(batch, seqLen); // the same rows in another shape (scoring windows of several lengths)
        } else {
            if (acts != null) acts.free();
            acts = new Activations(config, backend, batch, seqLen, lora == null);
        }
        return acts;
    }

    /**
     * Forward and backward over one micro-batch of windows ({@code batch} rows of {@code seqLen + 1} tokens:
     * inputs are the first {@code seqLen}, targets the last {@code seqLen}). Parameter gradients accumulate,
     * scaled by {@code gradScale} per token (use {@code 1 / (tokens in the whole batch)} for a mean).
     *
     * @return the summed loss over the micro-batch's tokens
     */
    public double forwardBackward(int[] windows, int batch, int seqLen, float gradScale) {
        return forwardBackward(windows, batch, seqLen, gradScale, GradientListener.NONE);
    }

    /**
     * As {@link #forwardBackward(int[], int, int, float)}, telling {@code listener} each group of
     * {@link Parameters#backwardGroups()} as soon as the backward pass has finished its gradients, so that a
     * data-parallel rank can put them on the wire while the earlier layers' backward still runs.
     */
    public double forwardBackward(int[] windows, int batch, int seqLen, float gradScale, GradientListener listener) {
        return forwardBackward(windows, null, batch, seqLen, gradScale, listener);
    }

    /**
     * As {@link #forwardBackward(int[], int, int, float, GradientListener)} with a loss mask: only the targets whose
     * {@code lossMask[b * seqLen + t]} is true count in the loss and its gradients (fine-tuning's response tokens);
     * a null mask counts them all.
     */
    public double forwardBackward(int[] windows, boolean[] lossMask, int batch, int seqLen, float gradScale,
                                  GradientListener listener) {
        return forwardBackward(windows, lossMask, null, batch, seqLen, gradScale, listener);
    }

    /**
     * As {@link #forwardBackward(int[], boolean[], int, int, float, GradientListener)} for windows that pack several
     * examples: {@code starts[b * seqLen + t]} is the position in window {@code b} where the example of input token
     * {@code t} starts, and attention never reaches before it (null: plain causal attention).
     */
    public double forwardBackward(int[] windows, boolean[] lossMask, int[] starts, int batch, int seqLen,
                                  float gradScale, GradientListener listener) {
        Activations a = activations(batch, seqLen);
        upload(a, windows, lossMask, batch, seqLen);
        uploadStarts(a, starts);
        forward(a);
        double loss = lmHeadAndLoss(a, gradScale, true);
        backward(a, listener);
        return loss;
    }

    /** Told when a group of parameter gradients is final for this micro-batch. */
    @FunctionalInterface
    public interface GradientListener {
        GradientListener NONE = group -> {};

        /** @param group index into {@link Parameters#backwardGroups()} */
        void ready(int group);
    }

    /** Forward only: the summed loss over the micro-batch's tokens. */
    public double loss(int[] windows, int batch, int seqLen) {
        return loss(windows, null, batch, seqLen);
    }

    /** Forward only: the summed loss over the targets {@code lossMask} counts (all of them when it is null). */
    public double loss(int[] windows, boolean[] lossMask, int batch, int seqLen) {
        return loss(windows, lossMask, null, batch, seqLen);
    }

    /** Forward only, for packed windows with their examples' {@code starts} (see {@link #forwardBackward}). */
    public double loss(int[] windows, boolean[] lossMask, int[] starts, int batch, int seqLen) {
        Activations a = activations(batch, seqLen);
        upload(a, windows, lossMask, batch, seqLen);
        uploadStarts(a, starts);
        forward(a);
        return lmHeadAndLoss(a, 0f, false);
    }

    /**
     * Forward only, each token's loss: {@code losses[r]} is the loss of {@code targets[r]} after
     * {@code inputs[.. r]}, rows {@code r = b * seqLen + t} as in {@link Backend}; a negative target gives 0, so a
     * caller can mask positions it does not score.
     */
    public void tokenLosses(int[] inputs, int[] targets, int batch, int seqLen, float[] losses) {
        Activations a = activations(batch, seqLen);
        backend.writeInts(a.inputs, inputs, a.rows);
        backend.writeInts(a.targets, targets, a.rows);
        a.masked = false;
        forward(a);
        lmHeadAndLoss(a, 0f, false);
        backend.read(a.losses, 0, losses, 0, a.rows);
    }

    /**
     * Forward only: the logits of every position, {@code [batch * seqLen, vocab]} row-major, for {@code tokens}
     * ({@code batch} rows of {@code seqLen} input tokens, no targets). Computed chunk by chunk like the loss.
     */
    public float[] logits(int[] tokens, int batch, int seqLen) {
        Activations a = activations(batch, seqLen);
        if (tokens.length != a.rows) {
            throw new IllegalArgumentException("logits of " + batch + " x " + seqLen + " need " + a.rows
                    + " tokens, got " + tokens.length);
        }
        backend.writeInts(a.inputs, tokens, tokens.length);
        a.masked = false;
        forward(a);
        int d = config.dim(), vocab = config.vocabSize();
        float[] logits = new float[Math.multiplyExact(a.rows, vocab)];
        for (int r0 = 0; r0 < a.rows; r0 += a.logitRows) {
            int rows = Math.min(a.logitRows, a.rows - r0);
            backend.copy(a.chunkIn, 0, a.finalNormOut, r0 * d, rows * d);
            backend.matmul(a.logits, a.chunkIn, params.output.value(), rows, d, vocab);
            backend.read(a.logits, 0, logits, r0 * vocab, rows * vocab);
        }
        return logits;
    }

    private void uploadStarts(Activations a, int[] starts) {
        a.masked = starts != null;
        if (starts == null) return;
        if (starts.length < a.rows) {
            throw new IllegalArgumentException("example starts of " + a.batch + " x " + a.seqLen + " need " + a.rows
                    + " entries, got " + starts.length);
        }
        for (int r = 0; r < a.rows; r++) {
            int t = r % a.seqLen;
            if (starts[r] < 0 || starts[r] > t) {
                throw new IllegalArgumentException("row " + r + " (position " + t + ") has example start " + starts[r]);
            }
        }
        backend.writeInts(a.starts, starts, a.rows);
    }

    /** Inputs and targets of the windows; a target the mask leaves out becomes -1, which the loss ignores. */
    private void upload(Activations a, int[] windows, boolean[] lossMask, int batch, int seqLen) {
        if (windows.length < batch * (seqLen + 1)) {
            throw new IllegalArgumentException("batch needs " + batch * (seqLen + 1) + " tokens, got " + windows.length);
        }
        if (lossMask != null && lossMask.length < batch * seqLen) {
            throw new IllegalArgumentException("loss mask of " + batch + " x " + seqLen + " needs " + batch * seqLen
                    + " entries, got " + lossMask.length);
        }
        int[] inputs = a.hostInputs;
        int[] targets = a.hostTargets;
        for (int b = 0; b < batch; b++) {
            System.arraycopy(windows, b * (seqLen + 1), inputs, b * seqLen, seqLen);
            System.arraycopy(windows, b * (seqLen + 1) + 1, targets, b * seqLen, seqLen);
        }
        if (lossMask != null) {
            for (int r = 0; r < batch * seqLen; r++) {
                if (!lossMask[r]) targets[r] = -1;
            }
        }
        backend.writeInts(a.inputs, inputs, inputs.length);
        backend.writeInts(a.targets, targets, targets.length);
    }

    // ---------------------------------------------------------------- forward

    void forward(Activations a) {
        backend.embedding(a.residual[0], params.tokenEmbedding.value(), a.inputs, a.rows, config.dim());
        for (int l = 0; l < config.layers(); l++) {
            attentionForward(a, l);
            feedForwardForward(a, l);
        }
        backend.rmsnorm(a.finalNormOut, a.finalRstd, a.residual[config.layers()], params.finalNorm.value(),
                a.rows, config.dim(), config.normEps());
    }

    /** afterAttention[l] = residual[l] + Wo · attention(rope(Wq n), rope(Wk n), Wv n), n = rmsnorm(residual[l]). */
    private void attentionForward(Activations a, int l) {
        Block p = params.block(l);
        int n = a.rows, d = config.dim(), kv = config.kvDim();
        backend.rmsnorm(a.normOut, a.attentionRstd[l], a.residual[l], p.attentionNorm().value(), n, d, config.normEps());
        backend.matmul(a.q[l], a.normOut, p.wq().value(), n, d, d);
        backend.matmul(a.k[l], a.normOut, p.wk().value(), n, d, kv);
        backend.matmul(a.v[l], a.normOut, p.wv().value(), n, d, kv);
        if (lora != null) {
            int widest = Math.max(d, config.hiddenDim());
            lora.forward(l, Lora.Q, a.q[l], a.normOut, n, widest);
            lora.forward(l, Lora.K, a.k[l], a.normOut, n, widest);
            lora.forward(l, Lora.V, a.v[l], a.normOut, n, widest);
        }
        backend.rope(a.q[l], ropeTable, n, a.seqLen, config.heads(), config.headDim(), false);
        backend.rope(a.k[l], ropeTable, n, a.seqLen, config.kvHeads(), config.headDim(), false);
        backend.attention(a.attentionOut[l], a.lse[l], a.q[l], a.k[l], a.v[l], a.masked ? a.starts : null,
                a.batch, a.seqLen, config.heads(), config.kvHeads(), config.headDim());
        backend.matmul(a.afterAttention[l], a.attentionOut[l], p.wo().value(), n, d, d);
        if (lora != null) lora.forward(l, Lora.O, a.afterAttention[l], a.attentionOut[l], n, Math.max(d, config.hiddenDim()));
        backend.add(a.afterAttention[l], a.residual[l], n * d);
    }

    /** residual[l+1] = afterAttention[l] + W2 · (silu(W1 n) * W3 n), n = rmsnorm(afterAttention[l]). */
    private void feedForwardForward(Activations a, int l) {
        Block p = params.block(l);
        int n = a.rows, d = config.dim(), f = config.hiddenDim();
        backend.rmsnorm(a.normOut, a.ffnRstd[l], a.afterAttention[l], p.ffnNorm().value(), n, d, config.normEps());
        backend.matmul(a.gate[l], a.normOut, p.w1().value(), n, d, f);
        backend.matmul(a.up[l], a.normOut, p.w3().value(), n, d, f);
        if (lora != null) {
            lora.forward(l, Lora.GATE, a.gate[l], a.normOut, n, Math.max(d, f));
            lora.forward(l, Lora.UP, a.up[l], a.normOut, n, Math.max(d, f));
        }
        backend.swiglu(a.act, a.gate[l], a.up[l], n * f);
        backend.matmul(a.residual[l + 1], a.act, p.w2().value(), n, f, d);
        if (lora != null) lora.forward(l, Lora.DOWN, a.residual[l + 1], a.act, n, Math.max(d, f));
        backend.add(a.residual[l + 1], a.afterAttention[l], n * d);
    }

    /**
     * LM head and cross-entropy over chunks of rows; with {@code backward} also the head's gradients, leaving
     * dL/d(finalNormOut) in {@code dNorm}.
     */
    private double lmHeadAndLoss(Activations a, float gradScale, boolean backward) {
        int d = config.dim(), vocab = config.vocabSize();
        Tensor head = params.output.value();
        for (int r0 = 0; r0 < a.rows; r0 += a.logitRows) {
            int rows = Math.min(a.logitRows, a.rows - r0);
            backend.copy(a.chunkIn, 0, a.finalNormOut, r0 * d, rows * d);
            backend.matmul(a.logits, a.chunkIn, head, rows, d, vocab);
            backend.crossEntropy(a.losses, r0, a.logits, a.targets, r0, rows, vocab, gradScale);
            if (backward) {
                if (lora == null) backend.matmulBackwardWeight(params.output.grad(), a.logits, a.chunkIn, rows, d, vocab);
                backend.matmulBackwardInput(a.dChunkIn, a.logits, head, rows, d, vocab, false);
                backend.copy(a.dNorm, r0 * d, a.dChunkIn, 0, rows * d);
            }
        }
        return backend.sum(a.losses, a.rows);
    }

    // ---------------------------------------------------------------- backward

    void backward(Activations a, GradientListener listener) {
        int n = a.rows, d = config.dim();
        backend.zero(a.dResidual);
        backend.rmsnormBackward(a.dResidual, params.finalNorm.grad(), a.dNorm, a.residual[config.layers()],
                params.finalNorm.value(), a.finalRstd, n, d);
        // Groups of trainable(): the model's own (head, blocks, embedding), or the adapters' (blocks only).
        if (lora == null) listener.ready(0);
        for (int l = config.layers() - 1; l >= 0; l--) {
            feedForwardBackward(a, l);
            attentionBackward(a, l);
            listener.ready(lora == null ? config.layers() - l : config.layers() - 1 - l);
        }
        if (lora == null) {
            backend.embeddingBackward(params.tokenEmbedding.grad(), a.dResidual, a.inputs, n, d);
            listener.ready(config.layers() + 1);
        }
    }

    /** On entry dResidual = dL/d residual[l+1]; on exit dL/d afterAttention[l]. */
    private void feedForwardBackward(Activations a, int l) {
        Block p = params.block(l);
        int n = a.rows, d = config.dim(), f = config.hiddenDim();
        backend.rmsnorm(a.normOut, a.ffnRstd[l], a.afterAttention[l], p.ffnNorm().value(), n, d, config.normEps());
        backend.swiglu(a.act, a.gate[l], a.up[l], n * f);
        boolean base = lora == null; // under LoRA the base weights are frozen: no gradients for them
        if (base) backend.matmulBackwardWeight(p.w2().grad(), a.dResidual, a.act, n, f, d);
        backend.matmulBackwardInput(a.dAct, a.dResidual, p.w2().value(), n, f, d, false);
        if (!base) lora.backward(l, Lora.DOWN, a.dAct, a.dResidual, a.act, n);
        backend.swigluBackward(a.dGate, a.dUp, a.dAct, a.gate[l], a.up[l], n * f);
        if (base) backend.matmulBackwardWeight(p.w1().grad(), a.dGate, a.normOut, n, d, f);
        if (base) backend.matmulBackwardWeight(p.w3().grad(), a.dUp, a.normOut, n, d, f);
        backend.matmulBackwardInput(a.dNorm, a.dGate, p.w1().value(), n, d, f, false);
        backend.matmulBackwardInput(a.dNorm, a.dUp, p.w3().value(), n, d, f, true);
        if (!base) {
            lora.backward(l, Lora.GATE, a.dNorm, a.dGate, a.normOut, n);
            lora.backward(l, Lora.UP, a.dNorm, a.dUp, a.normOut, n);
        }
        backend.rmsnormBackward(a.dResidual, p.ffnNorm().grad(), a.dNorm, a.afterAttention[l], p.ffnNorm().value(),
                a.ffnRstd[l], n, d);
    }

    /** On entry dResidual = dL/d afterAttention[l]; on exit dL/d residual[l]. */
    private void attentionBackward(Activations a, int l) {
        Block p = params.block(l);
        int n = a.rows, d = config.dim(), kv = config.kvDim();
        boolean base = lora == null; // under LoRA the base weights are frozen: no gradients for them
        if (base) backend.matmulBackwardWeight(p.wo().grad(), a.dResidual, a.attentionOut[l], n, d, d);
        backend.matmulBackwardInput(a.dAttentionOut, a.dResidual, p.wo().value(), n, d, d, false);
        if (!base) lora.backward(l, Lora.O, a.dAttentionOut, a.dResidual, a.attentionOut[l], n);
        backend.attentionBackward(a.dq, a.dk, a.dv, a.dAttentionOut, a.attentionOut[l], a.lse[l],
                a.q[l], a.k[l], a.v[l], a.masked ? a.starts : null, a.batch, a.seqLen, config.heads(), config.kvHeads(), config.headDim());
        backend.rope(a.dq, ropeTable, n, a.seqLen, config.heads(), config.headDim(), true);
        backend.rope(a.dk, ropeTable, n, a.seqLen, config.kvHeads(), config.headDim(), true);
        backend.rmsnorm(a.normOut, a.attentionRstd[l], a.residual[l], p.attentionNorm().value(), n, d, config.normEps());
        if (base) {
            backend.matmulBackwardWeight(p.wq().grad(), a.dq, a.normOut, n, d, d);
            backend.matmulBackwardWeight(p.wk().grad(), a.dk, a.normOut, n, d, kv);
            backend.matmulBackwardWeight(p.wv().grad(), a.dv, a.normOut, n, d, kv);
        }
        backend.matmulBackwardInput(a.dNorm, a.dq, p.wq().value(), n, d, d, false);
        backend.matmulBackwardInput(a.dNorm, a.dk, p.wk().value(), n, d, kv, true);
        backend.matmulBackwardInput(a.dNorm, a.dv, p.wv().value(), n, d, kv, true);
        if (!base) {
            lora.backward(l, Lora.Q, a.dNorm, a.dq, a.normOut, n);
            lora.backward(l, Lora.K, a.dNorm, a.dk, a.normOut, n);
            lora.backward(l, Lora.V, a.dNorm, a.dv, a.normOut, n);
        }
        backend.rmsnormBackward(a.dResidual, p.attentionNorm().grad(), a.dNorm, a.residual[l],
                p.attentionNorm().value(), a.attentionRstd[l], n, d);
    }

    public void zeroGradients() {
        List<Tensor> grads = new ArrayList<>();
        for (Parameters.Param p : trainable().all()) grads.add(p.grad());
        backend.zero(grads);
    }

    @Override
    public void close() {
        if (acts != null) acts.free();
        if (lora != null) lora.close();
        for (Parameters.Param p : params.all()) {
            backend.free(p.value());
            backend.free(p.grad());
        }
        backend.free(ropeTable);
    }
}
