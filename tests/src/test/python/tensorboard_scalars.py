#!/usr/bin/env python3
"""Reads a directory of TensorBoard event files with TensorBoard's own readers, for TensorBoardTest.

  tensorboard_scalars.py DIR    prints {"files": [names], "records": [per file], "scalars": {tag: [[step, value]]}}

Every record of every file is first read with TensorBoard's record reader (PyRecordReader_New), which raises on a
bad length or data checksum or a truncated record; then the scalars come from EventAccumulator, as `tensorboard
--logdir` (with --load_fast=false) loads a run: files in name order, purging on a SessionLog START.
"""
import json
import os
import sys

from tensorboard.backend.event_processing import event_accumulator
from tensorboard.compat.tensorflow_stub import errors, pywrap_tensorflow


def count_records(path):
    reader = pywrap_tensorflow.PyRecordReader_New(path.encode(), 0, b"", None)
    count = 0
    while True:
        try:
            reader.GetNext()  # raises DataLossError on a checksum mismatch or a truncated record
        except errors.OutOfRangeError:
            return count
        count += 1


def main(directory):
    files = sorted(name for name in os.listdir(directory) if "tfevents" in name)
    records = [count_records(os.path.join(directory, name)) for name in files]
    accumulator = event_accumulator.EventAccumulator(directory, size_guidance={event_accumulator.SCALARS: 0})
    accumulator.Reload()
    scalars = {tag: [[event.step, event.value] for event in accumulator.Scalars(tag)]
               for tag in accumulator.Tags()["scalars"]}
    print(json.dumps({"files": files, "records": records, "scalars": scalars}))


if __name__ == "__main__":
    main(sys.argv[1])
