#!/usr/bin/env python3
"""Converts lm-evaluation-harness dataset rows (JSON lines, as its Hugging Face datasets hold them) into a jllama
task file for `llama eval --tasks` (format: README, "Few-shot evaluation"). Only the standard library.

  submit/tasks/from_lm_eval.py TASK ROWS.jsonl OUT.jsonl [--fewshot ROWS.jsonl] [--sampler first_n|random]

TASK: boolq, piqa, hellaswag, winogrande, arc_easy, arc_challenge, openbookqa, mmlu. Each item is written the way
lm-evaluation-harness 0.4.13's task of that name renders it (doc_to_text, doc_to_choice, doc_to_target); BoolQ and
OpenBookQA also carry the LLaMA paper's unconditional context "Answer:" (the acc_ratio metric); MMLU keeps its
per-subject description and its first_n sampler (one subject per file, as lm-evaluation-harness's mmlu_* tasks).
--fewshot: rows to draw exemplars from (MMLU's dev split, the train split of the others), written with
"fewshot": true; without it, exemplars come from the evaluated items themselves. --sampler: which exemplars (default
as lm-evaluation-harness: first_n for MMLU, random for the others).
"""
import argparse
import json
import re
import sys


def hellaswag_text(text):
    text = text.strip().replace(" [title]", ". ")
    text = re.sub("\\[.*?\\]", "", text)
    return text.replace("  ", " ")


def letter_index(choices, key):
    return choices["label"].index(key.lstrip())


CONVERTERS = {
    "boolq": lambda r: {"context": f"{r['passage']}\nQuestion: {r['question']}?\nAnswer:", "choices": ["no", "yes"],
                        "label": int(r["label"])},
    "piqa": lambda r: {"context": f"Question: {r['goal']}\nAnswer:", "choices": [r["sol1"], r["sol2"]],
                       "label": int(r["label"])},
    "hellaswag": lambda r: {
        "context": hellaswag_text(r["activity_label"] + ": " + r["ctx_a"] + " " + r["ctx_b"].capitalize()),
        "choices": [hellaswag_text(e) for e in r["endings"]], "label": int(r["label"])},
    "winogrande": lambda r: {"sentence": r["sentence"], "options": [r["option1"], r["option2"]],
                             "label": int(r["answer"]) - 1},
    "arc_easy": lambda r: {"context": f"Question: {r['question']}\nAnswer:", "choices": r["choices"]["text"],
                           "label": letter_index(r["choices"], r["answerKey"])},
    "openbookqa": lambda r: {"context": r["question_stem"], "choices": r["choices"]["text"],
                             "label": letter_index(r["choices"], r["answerKey"])},
    "mmlu": lambda r: {"question": r["question"], "choices": r["choices"], "label": int(r["answer"])},
}
CONVERTERS["arc_challenge"] = CONVERTERS["arc_easy"]
KINDS = {"winogrande": "winogrande", "mmlu": "mmlu"}
RATIO_TASKS = {"boolq", "openbookqa"}


def read_rows(path, task):
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                yield row, CONVERTERS[task](row)
            except (ValueError, KeyError, TypeError, AttributeError) as e:
                sys.exit(f"{path}:{number}: not a {task} row of lm-evaluation-harness: {type(e).__name__}: {e}")


def main(argv):
    parser = argparse.ArgumentParser(description="lm-evaluation-harness dataset rows to a jllama task file")
    parser.add_argument("task", choices=sorted(CONVERTERS))
    parser.add_argument("rows")
    parser.add_argument("out")
    parser.add_argument("--fewshot", help="rows to draw exemplars from")
    parser.add_argument("--sampler", choices=["first_n", "random"])
    args = parser.parse_args(argv)
    task = args.task
    sources = [(args.rows, False)] + ([(args.fewshot, True)] if args.fewshot else [])
    items, subjects = [], set()
    for path, fewshot in sources:
        for row, item in read_rows(path, task):
            if task == "mmlu":
                subjects.add(row.get("subject", ""))
            if fewshot:
                item["fewshot"] = True
            items.append(item)
    settings = {"name": task, "kind": KINDS.get(task, "multiple_choice")}
    if task in RATIO_TASKS:
        settings["unconditional_context"] = "Answer:"
    if task == "mmlu":
        if len(subjects) != 1:
            sys.exit(f"{args.rows}: MMLU rows of {len(subjects)} subjects; convert one subject per file")
        subject = subjects.pop()
        settings["name"] = f"mmlu_{subject}" if subject else "mmlu"
        settings["description"] = ("The following are multiple choice questions (with answers) about "
                                   f"{subject.replace('_', ' ')}.\n\n")
    settings["sampler"] = args.sampler or ("first_n" if task == "mmlu" else "random")
    with open(args.out, "w", encoding="utf-8") as out:
        out.write(json.dumps({"task": settings}, ensure_ascii=False) + "\n")
        for item in items:
            out.write(json.dumps(item, ensure_ascii=False) + "\n")
    print(f"{args.out}: {task}, {sum(not i.get('fewshot') for i in items)} items, "
          f"{sum(bool(i.get('fewshot')) for i in items)} exemplars")


if __name__ == "__main__":
    main(sys.argv[1:])
