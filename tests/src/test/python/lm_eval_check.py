#!/usr/bin/env python3
"""Scores a multiple-choice task with lm-evaluation-harness itself, for the few-shot cross-check.

  lm_eval_check.py HF_DIR SPEC.json...   prints, per SPEC, {"metrics": {...}, "samples": [{"doc_id", "arguments",
                                         "lls"}], "extra": {context: [[ll per choice] per doc]}}, as a JSON list

SPEC.json: {"task_yaml": a task file of lm-evaluation-harness (e.g. "mmlu/default/mmlu_anatomy.yaml"), "docs":
[rows of that task's dataset], "fewshot_docs": [rows] or null, "shots": K, "mutual_info": bool,
"extra_contexts": [str]}. The task is lm-evaluation-harness's ConfigurableTask with that YAML's own doc_to_text,
doc_to_choice, doc_to_target, process_docs and description, the docs as its test split and the fewshot docs (or
else the test split) as its few-shot split drawn by its first_n sampler; its evaluator builds the requests, scores
them through the LM below and computes acc, acc_norm and, with "mutual_info", acc_mutual_info (whose requests it
adds). The only code of ours is the LM: LlamaForCausalLM (float32) on HF_DIR with the SentencePiece model
HF_DIR/tokenizer.model, every context following the end-of-document token (as lm-evaluation-harness's HFLM with
add_bos_token puts BOS first; our documents start after EOS), truncated on the left to max_position_embeddings + 1
tokens as HFLM does. "extra_contexts": for each, the log-likelihood of every choice (" " + choice) after that
context through the same LM's loglikelihood (lm-evaluation-harness's _encode_pair).
"""
import json
import os
import sys

import datasets
import sentencepiece
import torch
from lm_eval import evaluator
from lm_eval.api.instance import Instance
from lm_eval.api.model import TemplateLM
from lm_eval.api.task import ConfigurableTask
import lm_eval.tasks
from lm_eval.tasks._yaml_loader import load_yaml
from transformers import LlamaForCausalLM


class JllamaExport(TemplateLM):
    def __init__(self, hf_dir):
        super().__init__()
        self.model = LlamaForCausalLM.from_pretrained(hf_dir, dtype=torch.float32).eval()
        self.sp = sentencepiece.SentencePieceProcessor(model_file=os.path.join(hf_dir, "tokenizer.model"))
        self.max_length = self.model.config.max_position_embeddings

    @property
    def eot_token_id(self):
        return self.sp.eos_id()

    def tok_encode(self, string, add_special_tokens=None, **kwargs):
        ids = self.sp.encode(string)
        return ids if add_special_tokens is False else [self.eot_token_id] + ids

    def _loglikelihood_tokens(self, requests, disable_tqdm=False, **kwargs):
        out = []
        with torch.no_grad():
            for _, context_enc, continuation_enc in requests:
                tokens = (context_enc + continuation_enc)[-(self.max_length + 1):]
                inputs = torch.tensor([tokens[:-1]])
                logprobs = torch.log_softmax(self.model(input_ids=inputs).logits[0].double(), dim=-1)
                n = len(continuation_enc)
                targets = torch.tensor(tokens[-n:])
                scored = logprobs[-n:]
                ll = scored.gather(1, targets[:, None]).sum().item()
                greedy = bool((scored.argmax(dim=-1) == targets).all())
                out.append((ll, greedy))
        return out

    def loglikelihood_rolling(self, requests, disable_tqdm=False):
        raise NotImplementedError("not needed for multiple choice")

    def generate_until(self, requests, disable_tqdm=False):
        raise NotImplementedError("not needed for multiple choice")


def task_config(spec):
    tasks_dir = list(lm_eval.tasks.__path__)[0]
    config = load_yaml(os.path.join(tasks_dir, spec["task_yaml"]))
    fields = {k: config[k] for k in ("doc_to_text", "doc_to_choice", "doc_to_target", "process_docs", "description")
              if k in config}
    splits = {"test": datasets.Dataset.from_list(spec["docs"])}
    if spec.get("fewshot_docs"):
        splits["dev"] = datasets.Dataset.from_list(spec["fewshot_docs"])
    metrics = [{"metric": m, "aggregation": "mean", "higher_is_better": True}
               for m in ["acc", "acc_norm"] + (["acc_mutual_info"] if spec.get("mutual_info") else [])]
    return dict(task=config["task"], custom_dataset=lambda **kwargs: splits, test_split="test",
                fewshot_split="dev" if "dev" in splits else "test", fewshot_config={"sampler": "first_n"},
                output_type="multiple_choice", metric_list=metrics, num_fewshot=spec["shots"], **fields)


def main(hf_dir, *spec_paths):
    lm = JllamaExport(hf_dir)
    json.dump([check(lm, path) for path in spec_paths], sys.stdout)


def check(lm, spec_path):
    with open(spec_path) as f:
        spec = json.load(f)
    task = ConfigurableTask(config=task_config(spec))
    results = evaluator.evaluate(lm=lm, task_dict={task.config.task: task}, log_samples=True, verbosity="ERROR")
    name = task.config.task
    metrics = {k.split(",")[0]: v for k, v in results["results"][name].items() if "," in k}
    samples = [{"doc_id": s["doc_id"], "arguments": [list(a) for a in s["arguments"]],
                "lls": [r[0][0] for r in s["resps"]]}
               for s in sorted(results["samples"][name], key=lambda s: s["doc_id"])]
    extra = {}
    for context in spec.get("extra_contexts", []):
        docs = list(task.eval_docs)
        requests = [Instance("loglikelihood", doc, (context, " " + choice), i)
                    for doc in docs for i, choice in enumerate(task.doc_to_choice(doc))]
        lls = [ll for ll, _ in lm.loglikelihood(requests, disable_tqdm=True)]
        per_doc, at = [], 0
        for doc in docs:
            n = len(task.doc_to_choice(doc))
            per_doc.append(lls[at:at + n])
            at += n
        extra[context] = per_doc
    return {"metrics": metrics, "samples": samples, "extra": extra}


if __name__ == "__main__":
    main(*sys.argv[1:])
