#!/usr/bin/python3
"""Encodes texts with python3-sentencepiece for the Java tests: spm_encode.py MODEL TEXTS.jsonl > IDS.jsonl.

Each input line is a JSON string; each output line is the JSON list of ids SentencePiece gives for it
(encode(text), no BOS/EOS). Prints 'no-sentencepiece' and exits 3 when the module is missing."""
import json
import sys

try:
    import sentencepiece as spm
except ImportError:
    print("no-sentencepiece")
    sys.exit(3)

sp = spm.SentencePieceProcessor(model_file=sys.argv[1])
with open(sys.argv[2], encoding="utf-8") as f:
    for line in f:
        print(json.dumps(sp.encode(json.loads(line))))
print(json.dumps({"vocab": sp.get_piece_size(), "unk": sp.unk_id(), "bos": sp.bos_id(), "eos": sp.eos_id()}))
