#!/usr/bin/python3
"""Removes the training machine's paths from SentencePiece models: TrainerSpec.input (field 1) and
TrainerSpec.model_prefix (field 2). Encoding never reads them; every other byte of the model stays as it was.

Usage (from the repository root):  python3 data/src/test/python/clear_model_paths.py FILE.model...
"""
import sys

TRAINER_SPEC = 2
PATH_FIELDS = {1, 2}  # TrainerSpec.input, TrainerSpec.model_prefix


def _varint(data, pos):
    value = shift = 0
    while True:
        b = data[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return value, pos


def _encode_varint(value):
    out = bytearray()
    while True:
        b = value & 0x7F
        value >>= 7
        out.append(b | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _fields(data):
    """(field number, whole encoded field, payload or None) for each field of a message, in order."""
    pos = 0
    while pos < len(data):
        start = pos
        tag, pos = _varint(data, pos)
        wire = tag & 7
        payload = None
        if wire == 0:
            _, pos = _varint(data, pos)
        elif wire == 1:
            pos += 8
        elif wire == 2:
            length, pos = _varint(data, pos)
            payload = data[pos:pos + length]
            pos += length
        elif wire == 5:
            pos += 4
        else:
            raise ValueError(f"unsupported wire type {wire} at byte {start}")
        yield tag >> 3, data[start:pos], payload


def clear_paths(model):
    out = bytearray()
    for number, whole, payload in _fields(model):
        if number == TRAINER_SPEC and payload is not None:
            spec = b"".join(w for n, w, _ in _fields(payload) if n not in PATH_FIELDS)
            out += _encode_varint(TRAINER_SPEC << 3 | 2) + _encode_varint(len(spec)) + spec
        else:
            out += whole
    return bytes(out)


def main(files):
    for name in files:
        with open(name, "rb") as f:
            model = f.read()
        cleared = clear_paths(model)
        with open(name, "wb") as f:
            f.write(cleared)
        print(f"{name}: {len(model) - len(cleared)} bytes of paths removed", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
