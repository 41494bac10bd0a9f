#!/usr/bin/python3
"""Writes tokenizer fixtures for dev.jllama.data.tokenizer tests with Debian's python3-sentencepiece (0.1.97).

Run from the repository root:  /usr/bin/python3 data/src/test/python/make_tokenizer_fixtures.py
Output: data/src/test/resources/dev/jllama/data/tokenizer/spm-bpe-4096.fixtures.jsonl, one JSON object a line:
  {"case": name, "utf8_hex": input bytes, "ids": [...], "pieces": [...]}   encode cases; ids are what
      SentencePiece gives for bytes.decode('utf-8', errors='replace') (invalid UTF-8 -> one U+FFFD per maximal
      invalid subsequence, the policy Tokenizer.encodeUtf8 follows);
  {"case": name, "decode_ids": [...], "text": ...}   decode cases.
Also trains two small models with SentencePiece (spm-bpe-userdef.model: no byte fallback, user-defined and
control pieces; spm-bpe-nfkc.model: nmt_nfkc normalization), clears the paths SentencePiece records in them, and
writes their *.expected.jsonl ({"text", "ids", "decoded"}).
"""
import json
import os
import random
import sys

import sentencepiece as spm

from clear_model_paths import main as clear_model_paths

ROOT = os.path.dirname(os.path.abspath(__file__))
MODEL = os.path.join(ROOT, "../../main/resources/dev/jllama/data/tokenizer/spm-bpe-4096.model")
OUT = os.path.join(ROOT, "../resources/dev/jllama/data/tokenizer/spm-bpe-4096.fixtures.jsonl")

sp = spm.SentencePieceProcessor(model_file=MODEL)
rng = random.Random(20261101)

texts = {
    "emoji": "I ❤️ tokenizers 🚀🚀 and 👩‍👩‍👧 families 😀!",
    "cjk": "東京は日本の首都です。北京欢迎你。서울 특별시",
    "combining_marks": "e\u0301 a\u0308 n\u0303o Zalgo: Z\u0351\u034a\u0358a\u035bl\u0314go\u0352",
    "control_chars": "a\x00b\x01c\x07d\x1be\x7ff\u0085g\u200bh\ufeffi",
    "tabs_newlines": "line one\nline two\r\n\tindented\t\ttabs \n",
    "long_whitespace_runs": "   many" + " " * 50 + "spaces\t\t\t\tand" + " " * 7 + "\u3000\u3000ideographic   ",
    "only_spaces": "      ",
    "empty": "",
    "single_char": "a",
    "space_symbol_literal": "\u2581lit\u2581eral \u2581\u2581 x\u2581",
    "digits": "Pi is 3.14159265358979, 2024-11-05, ００１２ full-width, ٣٤٥ arabic-indic",
    "punctuation": "Hello, world!!! (yes) [no] {maybe} \"quoted\" 'single' -- em—dash … ellipsis?!",
    "mixed_scripts": "Ελληνικά Русский עברית العربية हिन्दी ไทย",
    "unk_like_literals": "<unk> <s> </s> <0x41> <pad>",
    "astral": "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕏 \U0001F600\U0001F9D1\u200D\U0001F680 \U00010348",
}
cases = [(name, text.encode("utf-8")) for name, text in texts.items()]

corpus = os.path.join(ROOT, "../../main/resources/dev/jllama/data/corpus/nlp-corpus-4.4.0.train.txt.gz")
if os.path.exists(corpus):
    import gzip
    lines = [l for l in gzip.open(corpus, "rt", encoding="utf-8").read().split("\n") if l]
    for i in range(40):
        cases.append((f"corpus_line_{i}", rng.choice(lines).encode("utf-8")))
    cases.append(("very_long_input", " ".join(lines[:200]).encode("utf-8")))
cases.append(("very_long_word", ("abc" * 2000).encode("utf-8")))
cases.append(("very_long_cjk", ("漢字かな交じり文" * 200).encode("utf-8")))

invalid = {
    "invalid_lone_ff": b"ab\xffcd",
    "invalid_truncated_3byte": b"\xe6\x9d x",
    "invalid_surrogate_encoded": b"\xed\xa0\x80 after",
    "invalid_truncated_4byte_end": b"rocket \xf0\x9f\x9a",
    "invalid_overlong": b"\xc0\xaf \xe0\x80\xaf \xf0\x80\x80\xaf",
    "invalid_continuations": b"\x80\x81\x82 mid \xbf",
    "invalid_too_large": b"\xf4\x90\x80\x80 \xf5\x80 \xf8\x88\x80\x80\x80",
    "invalid_mixed": b"ok \xe2\x82 \xe2\x82\xac \xe2 \xc3\xa9\xc3",
}
cases.extend(invalid.items())

for k in range(30):  # random byte soup, biased to multi-byte lead and continuation bytes
    n = rng.randint(1, 40)
    data = bytes(rng.choice([0x20, 0x41, 0x61, 0x80, 0x9f, 0xbf, 0xc3, 0xe6, 0xed, 0xf0, 0xf4, 0xff, rng.randrange(256)])
                 for _ in range(n))
    cases.append((f"random_bytes_{k}", data))

with open(OUT, "w", encoding="utf-8") as out:
    for name, data in cases:
        text = data.decode("utf-8", errors="replace")
        ids = sp.encode(text)
        pieces = [sp.id_to_piece(i) for i in ids]
        out.write(json.dumps({"case": name, "utf8_hex": data.hex(), "ids": ids, "pieces": pieces}, ensure_ascii=False) + "\n")
    vocab = sp.get_piece_size()
    decode_cases = [[0], [1, 370], [3710, 3710, 370], [233, 3710, 370], [370, 0, 370], [233, 160, 180, 370],
                    [1, 2, 3710, 3710], [243, 162, 157], [243, 162, 157, 131], [198, 3710], []]
    for k in range(40):
        decode_cases.append([rng.randrange(vocab) for _ in range(rng.randint(1, 30))])
    for k in range(20):  # byte-heavy sequences exercise the UTF-8 reassembly of byte pieces
        decode_cases.append([rng.choice([rng.randrange(3, 259), rng.randrange(259, vocab), 3710]) for _ in range(rng.randint(1, 30))])
    for k, ids in enumerate(decode_cases):
        out.write(json.dumps({"case": f"decode_{k}", "decode_ids": ids, "text": sp.decode(ids)}, ensure_ascii=False) + "\n")
print(f"wrote {len(cases)} encode and {len(decode_cases)} decode cases to {OUT}", file=sys.stderr)

# A second, small model without byte fallback (runs of unknown characters merge into one <unk>), with
# user-defined pieces (never merged; "x▁y" spans a word boundary, which turns off per-word splitting) and a
# control piece, trained by SentencePiece itself.
if os.path.exists(corpus):
    import tempfile
    small_prefix = os.path.join(ROOT, "../resources/dev/jllama/data/tokenizer/spm-bpe-userdef")
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".txt", delete=False) as tmp:
        tmp.write("\n".join(lines[:3000]) + "\n")
    spm.SentencePieceTrainer.train(
        input=tmp.name, model_prefix=small_prefix, model_type="bpe", vocab_size=600, byte_fallback=False,
        character_coverage=0.999, split_digits=True, normalization_rule_name="identity",
        user_defined_symbols=["<sep>", "[MASK]", "x\u2581y"], control_symbols=["<ctl>"], num_threads=1,
        minloglevel=2)
    os.unlink(tmp.name)
    os.unlink(small_prefix + ".vocab")
    clear_model_paths([small_prefix + ".model"])
    small = spm.SentencePieceProcessor(model_file=small_prefix + ".model")
    small_texts = list(texts.values()) + lines[3000:3100] + [
        "a<sep>b [MASK] the<sep><sep>end", "x y and x▁y and xx▁yy", "<ctl> is literal text", "東京東京 🚀🚀 ok",
        "Zürich ⁇ ünknown ǅ ǆ", "   ", "[MASK]"]
    with open(os.path.join(ROOT, "../resources/dev/jllama/data/tokenizer/spm-bpe-userdef.expected.jsonl"), "w", encoding="utf-8") as out:
        for text in small_texts:
            ids = small.encode(text)
            out.write(json.dumps({"text": text, "ids": ids, "decoded": small.decode(ids)}, ensure_ascii=False) + "\n")
    print("wrote spm-bpe-userdef model and expectations", file=sys.stderr)

    # A model with SentencePiece's default normalization (nmt_nfkc: a precompiled charsmap), byte fallback on.
    nfkc_prefix = os.path.join(ROOT, "../resources/dev/jllama/data/tokenizer/spm-bpe-nfkc")
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".txt", delete=False) as tmp:
        tmp.write("\n".join(lines[:2000]) + "\n")
    spm.SentencePieceTrainer.train(
        input=tmp.name, model_prefix=nfkc_prefix, model_type="bpe", vocab_size=700, byte_fallback=True,
        character_coverage=1.0, normalization_rule_name="nmt_nfkc", user_defined_symbols=["<sep>"],
        num_threads=1, minloglevel=2)
    os.unlink(tmp.name)
    os.unlink(nfkc_prefix + ".vocab")
    clear_model_paths([nfkc_prefix + ".model"])
    nfkc = spm.SentencePieceProcessor(model_file=nfkc_prefix + ".model")
    nfkc_texts = list(texts.values()) + lines[2000:2100] + [
        "ｆｕｌｌ　ｗｉｄｔｈ ＡＢＣ １２３", "ﬁne ﬂour ① ② ㈱ ㌔ ½ x²", "tab\there\u00a0nbsp\u2003em\u3000ideo",
        "zero\u200bwidth\u200djoin\ufeffbom", "Å vs A\u030a, é vs e\u0301", "a<sep>b ｓｅｐ<sep>",
        "\u3000\u3000leading ideographic", "trailing\u3000\u3000", "ＫＡＴＡＫＡＮＡ ｶﾀｶﾅ ﾊﾟ"]
    with open(os.path.join(ROOT, "../resources/dev/jllama/data/tokenizer/spm-bpe-nfkc.expected.jsonl"), "w", encoding="utf-8") as out:
        for text in nfkc_texts:
            ids = nfkc.encode(text)
            out.write(json.dumps({"text": text, "ids": ids, "decoded": nfkc.decode(ids)}, ensure_ascii=False) + "\n")
    print("wrote spm-bpe-nfkc model and expectations", file=sys.stderr)
