#!/usr/bin/env python3
"""Reads and writes models with the reference implementations (transformers, gguf) for the export/import tests.

  hf_check.py logits DIR TOKENS.json OUT.bin [fp32|bf16]
                                               LlamaForCausalLM.from_pretrained(DIR) in float32 on the batch
                                               {"batch", "seq_len", "tokens"}; writes the logits as float32;
                                               bf16: under torch.autocast("cpu", dtype=torch.bfloat16)
  hf_check.py loss DIR WINDOWS.json            mean next-token loss of transformers on {"batch", "seq_len",
                                               "tokens"} (batch rows of seq_len + 1 tokens); prints {"loss"}
  hf_check.py window_nats DIR WINDOWS.json     summed next-token loss of transformers on each window of a JSON list
                                               of token lists (any lengths, each run alone, unpadded); prints a list
  hf_check.py masked-loss DIR WINDOWS.json     transformers' loss on {"batch", "seq_len", "tokens", "mask"} (mask: one
                                               0/1 per target, batch x seq_len) with labels -100 where the mask is 0,
                                               the mean over the rest; prints {"loss", "counted"}
  hf_check.py tokenize DIR TEXTS.json          AutoTokenizer.from_pretrained(DIR) ids of each text; prints a list
  hf_check.py random DIR SHARD_BYTES DTYPE     saves a random LlamaForCausalLM (GQA, untied head, rope_theta
                                               500000) in DTYPE (float32/bfloat16/float16), sharded when
                                               SHARD_BYTES > 0
  hf_check.py gguf FILE OUT.bin                GGUFReader on FILE: prints {"metadata", "tensors"} and writes every
                                               tensor's values as float32, in file order
"""
import json
import sys

import numpy as np


def load_batch(path):
    with open(path) as f:
        spec = json.load(f)
    return spec, np.array(spec["tokens"], dtype=np.int64)


def logits(model_dir, tokens_path, out_path, precision="fp32"):
    import torch
    from transformers import LlamaForCausalLM

    spec, tokens = load_batch(tokens_path)
    model = LlamaForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    model.eval()
    ids = torch.from_numpy(tokens.reshape(spec["batch"], spec["seq_len"]))
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
        out = model(input_ids=ids).logits
    out.float().numpy().astype("<f4").tofile(out_path)


def generate(model_dir, prompt_path, max_new_tokens):
    """Greedy continuation of the prompt ids in prompt_path, stopping at the model's EOS, as JSON ids."""
    import torch
    from transformers import LlamaForCausalLM

    with open(prompt_path) as f:
        ids = torch.tensor([json.load(f)], dtype=torch.int64)
    model = LlamaForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    model.eval()
    with torch.no_grad():
        out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=False,
                             max_new_tokens=int(max_new_tokens), pad_token_id=model.generation_config.eos_token_id)
    print(json.dumps(out[0, ids.shape[1]:].tolist()))


def loss(model_dir, windows_path):
    import torch
    from transformers import LlamaForCausalLM

    spec, tokens = load_batch(windows_path)
    model = LlamaForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    model.eval()
    ids = torch.from_numpy(tokens.reshape(spec["batch"], spec["seq_len"] + 1))
    with torch.no_grad():
        value = model(input_ids=ids, labels=ids).loss
    print(json.dumps({"loss": float(value)}))


def window_nats(model_dir, windows_path):
    import torch
    from transformers import LlamaForCausalLM

    with open(windows_path) as f:
        windows = json.load(f)
    model = LlamaForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    model.eval()
    sums = []
    with torch.no_grad():
        for window in windows:
            ids = torch.tensor([window], dtype=torch.int64)
            logits = model(input_ids=ids).logits[0, :-1].double()
            sums.append(float(torch.nn.functional.cross_entropy(logits, ids[0, 1:], reduction="sum")))
    print(json.dumps(sums))


def masked_loss(model_dir, windows_path):
    import torch
    from transformers import LlamaForCausalLM

    spec, tokens = load_batch(windows_path)
    batch, seq_len = spec["batch"], spec["seq_len"]
    mask = np.array(spec["mask"], dtype=bool).reshape(batch, seq_len)
    model = LlamaForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    model.eval()
    ids = torch.from_numpy(tokens.reshape(batch, seq_len + 1))
    labels = ids.clone()
    labels[:, 0] = -100  # never a target: transformers shifts labels by one itself
    labels[:, 1:][torch.from_numpy(~mask)] = -100
    with torch.no_grad():
        value = model(input_ids=ids, labels=labels).loss
    print(json.dumps({"loss": float(value), "counted": int(mask.sum())}))


def tokenize(model_dir, texts_path):
    from transformers import AutoTokenizer

    with open(texts_path, encoding="utf-8") as f:
        texts = json.load(f)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    print(json.dumps([tokenizer(text)["input_ids"] for text in texts]))


def random_model(model_dir, shard_bytes, dtype):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(7)
    config = LlamaConfig(hidden_size=64, intermediate_size=160, num_hidden_layers=2, num_attention_heads=4,
                         num_key_value_heads=2, vocab_size=300, max_position_embeddings=64, rms_norm_eps=1e-5,
                         rope_theta=500000.0, tie_word_embeddings=False)
    model = LlamaForCausalLM(config)
    # Weights large enough that attention is far from uniform, so that a wrong RoPE order would show in the loss,
    # and norm gains away from 1, so that swapped norms would.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1:
                p.copy_(1 + 0.2 * torch.randn_like(p))
            else:
                p.normal_(0, 0.25)
    model = model.to(getattr(torch, dtype))
    shard = int(shard_bytes)
    if shard > 0:
        model.save_pretrained(model_dir, max_shard_size=shard)
    else:
        model.save_pretrained(model_dir)


def gguf(path, out_path):
    from gguf import GGUFReader

    reader = GGUFReader(path)
    metadata = {}
    for key, field in reader.fields.items():
        if key.startswith("GGUF."):
            continue
        value = field.contents()
        metadata[key] = value
    tensors = []
    with open(out_path, "wb") as out:
        for t in reader.tensors:
            values = np.asarray(t.data).astype("<f4")
            tensors.append({"name": t.name, "dims": [int(d) for d in t.shape], "type": t.tensor_type.name,
                            "array_shape": list(values.shape), "offset": int(t.data_offset)})
            values.tofile(out)
    print(json.dumps({"version": int(reader.fields["GGUF.version"].contents()),
                      "alignment": int(reader.alignment), "metadata": metadata, "tensors": tensors}))


if __name__ == "__main__":
    commands = {"logits": logits, "generate": generate, "loss": loss, "window_nats": window_nats,
                "masked-loss": masked_loss, "tokenize": tokenize, "random": random_model, "gguf": gguf}
    commands[sys.argv[1]](*sys.argv[2:])
