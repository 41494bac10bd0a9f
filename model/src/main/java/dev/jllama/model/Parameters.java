package dev.jllama.model;

import dev.jllama.model.backend.Backend;
import dev.jllama.model.backend.Tensor;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Every trainable tensor of the model with its gradient, named as in Meta's LLaMA checkpoints
 * ({@code tok_embeddings.weight}, {@code layers.0.attention.wq.weight}, ...). The order is fixed: it is the order
 * of checkpoints, of the gradient all-reduce and of the optimizer.
 */
public final class Parameters {

    /** One trainable tensor. {@code decay} is false for norm gains, which AdamW does not decay. */
    public record Param(String name, int[] shape, boolean decay, Tensor value, Tensor grad) {
        public int size() {
            return value.size();
        }
    }

    /** The tensors of one transformer block. */
    public record Block(Param attentionNorm, Param wq, Param wk, Param wv, Param wo,
                        Param ffnNorm, Param w1, Param w2, Param w3) {}

    private final List<Param> all = new ArrayList<>();
    private final List<Block> blocks = new ArrayList<>();
    public final Param tokenEmbedding;
    public final Param finalNorm;
    public final Param output;

    public Parameters(LlamaConfig config, Backend backend) {
        this.groups = null;
        int d = config.dim(), kv = config.kvDim(), f = config.hiddenDim();
        tokenEmbedding = add(backend, "tok_embeddings.weight", true, config.vocabSize(), d);
        for (int l = 0; l < config.layers(); l++) {
            String p = "layers." + l + ".";
            blocks.add(new Block(
                    add(backend, p + "attention_norm.weight", false, d),
                    add(backend, p + "attention.wq.weight", true, d, d),
                    add(backend, p + "attention.wk.weight", true, kv, d),
                    add(backend, p + "attention.wv.weight", true, kv, d),
                    add(backend, p + "attention.wo.weight", true, d, d),
                    add(backend, p + "ffn_norm.weight", false, d),
                    add(backend, p + "feed_forward.w1.weight", true, f, d),
                    add(backend, p + "feed_forward.w2.weight", true, d, f),
                    add(backend, p + "feed_forward.w3.weight", true, f, d)));
        }
        finalNorm = add(backend, "norm.weight", false, d);
        output = config.tiedEmbeddings() ? tokenEmbedding : add(backend, "output.weight", true, config.vocabSize(), d);
    }

    /** Groups given by {@link #of}; null for the model's own parameters, whose groups follow its blocks. */
    private final List<List<Param>> groups;

    private Parameters(List<Param> all, List<List<Param>> groups) {
        this.all.addAll(all);
        this.groups = groups;
        this.tokenEmbedding = null;
        this.finalNorm = null;
        this.output = null;
    }

    /**
     * A set of trainable tensors other than the model's own (LoRA adapters), with the groups in which the backward
     * pass finishes their gradients; they have no blocks, embedding or head.
     */
    public static Parameters of(List<Param> all, List<List<Param>> groups) {
        List<List<Param>> copy = new ArrayList<>();
        for (List<Param> g : groups) copy.add(List.copyOf(g));
        return new Parameters(all, List.copyOf(copy));
    }

    private Param add(Backend backend, String name, boolean decay, int... shape) {
        int size = 1;
        for (int s : shape) size = Math.multiplyExact(size, s);
        Param param = new Param(name, shape, decay, backend.allocate(name, size), backend.allocate("grad." + name, size));
        all.add(param);
        return param;
    }

    public List<Param> all() {
        return Collections.unmodifiableList(all);
    }

    /**
     * The parameters grouped in the order the backward pass finishes their gradients: the final norm (with the
     * LM head when it is not tied), then each block from the last layer to the first, then the token embedding
     * (which, when tied, is also the LM head). The groups partition {@link #all()}.
     */
    public List<List<Param>> backwardGroups() {
        if (groups != null) return groups;
        List<List<Param>> groups = new ArrayList<>();
        groups.add(output == tokenEmbedding ? List.of(finalNorm) : List.of(finalNorm, output));
        for (int l = blocks.size() - 1; l >= 0; l--) {
            Block b = blocks.get(l);
            groups.add(List.of(b.attentionNorm(), b.wq(), b.wk(), b.wv(), b.wo(), b.ffnNorm(), b.w1(), b.w2(), b.w3()));
        }
        groups.add(List.of(tokenEmbedding));
        return groups;
    }

    public Block block(int layer) {
        return blocks.get(layer);
    }

    public long count() {
        long n = 0;
        for (Param p : all) n += p.size();
        return n;
    }
}
