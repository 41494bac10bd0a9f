package dev.jllama.model.export;

import dev.jllama.model.LlamaConfig;
import java.util.ArrayList;
import java.util.List;

/**
 * Every tensor of a model under its three names: ours (Meta's), Hugging Face's {@code LlamaForCausalLM} and
 * llama.cpp's GGUF, in checkpoint order. {@code rope} says whether the rows are a query or key projection whose
 * order differs between Meta's and Hugging Face's RoPE ({@link RopeLayout}); {@code ropeHeads} is its head count.
 */
public record TensorNames(String ours, String hf, String gguf, int[] shape, boolean rope, int ropeHeads) {

    public boolean isVector() {
        return shape.length == 1;
    }

    public static List<TensorNames> of(LlamaConfig c) {
        int d = c.dim(), kv = c.kvDim(), f = c.hiddenDim();
        List<TensorNames> all = new ArrayList<>();
        all.add(plain("tok_embeddings.weight", "model.embed_tokens.weight", "token_embd.weight", c.vocabSize(), d));
        for (int l = 0; l < c.layers(); l++) {
            String ours = "layers." + l + ".", hf = "model.layers." + l + ".", gguf = "blk." + l + ".";
            all.add(plain(ours + "attention_norm.weight", hf + "input_layernorm.weight", gguf + "attn_norm.weight", d));
            all.add(new TensorNames(ours + "attention.wq.weight", hf + "self_attn.q_proj.weight",
                    gguf + "attn_q.weight", new int[] {d, d}, true, c.heads()));
            all.add(new TensorNames(ours + "attention.wk.weight", hf + "self_attn.k_proj.weight",
                    gguf + "attn_k.weight", new int[] {kv, d}, true, c.kvHeads()));
            all.add(plain(ours + "attention.wv.weight", hf + "self_attn.v_proj.weight", gguf + "attn_v.weight", kv, d));
            all.add(plain(ours + "attention.wo.weight", hf + "self_attn.o_proj.weight", gguf + "attn_output.weight", d, d));
            all.add(plain(ours + "ffn_norm.weight", hf + "post_attention_layernorm.weight", gguf + "ffn_norm.weight", d));
            all.add(plain(ours + "feed_forward.w1.weight", hf + "mlp.gate_proj.weight", gguf + "ffn_gate.weight", f, d));
            all.add(plain(ours + "feed_forward.w2.weight", hf + "mlp.down_proj.weight", gguf + "ffn_down.weight", d, f));
            all.add(plain(ours + "feed_forward.w3.weight", hf + "mlp.up_proj.weight", gguf + "ffn_up.weight", f, d));
        }
        all.add(plain("norm.weight", "model.norm.weight", "output_norm.weight", d));
        if (!c.tiedEmbeddings()) all.add(plain("output.weight", "lm_head.weight", "output.weight", c.vocabSize(), d));
        return all;
    }

    private static TensorNames plain(String ours, String hf, String gguf, int... shape) {
        return new TensorNames(ours, hf, gguf, shape, false, 0);
    }

    public int size() {
        int n = 1;
        for (int s : shape) n = Math.multiplyExact(n, s);
        return n;
    }
}
