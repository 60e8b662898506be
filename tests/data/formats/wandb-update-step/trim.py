"""Trim a real W&B run folder into this test folder: `python trim.py SRC_RUN_DIR OUT_RUN_DIR [FIRST LAST]`.

Keeps the run's first FIRST and last LAST history records as they were written (their protobuf bytes
unchanged), framed again into a `.wandb` file the way the SDK frames them (LevelDB-log chunks in 32 KiB
blocks), and `files/config.yaml` without its `_wandb` block (the writer's host, e-mail and GPU ids). The
summary, system-stats and environment records are left out.
"""
from __future__ import annotations

import struct
import sys
import zlib
from pathlib import Path

from advisor.ingest.wandb_log import BLOCK, fields, split_records

HISTORY = 2  # wandb_internal.Record.history


def frame(records: list[bytes]) -> bytes:
    out = bytearray(b":W&B" + struct.pack("<H", 0xBEE1) + b"\x00")
    for data in records:
        begin, left = True, data
        while True:
            room = BLOCK - len(out) % BLOCK
            if room < 7:
                out += b"\x00" * room
                room = BLOCK
            piece, left = left[: room - 7], left[room - 7:]
            end = not left
            kind = 1 if begin and end else 2 if begin else 4 if end else 3
            out += struct.pack("<IHB", zlib.crc32(bytes([kind]) + piece), len(piece), kind) + piece
            begin = False
            if end:
                break
    return bytes(out)


def main(src: Path, out: Path, first: int = 40, last: int = 10) -> None:
    (binary,) = src.glob("run-*.wandb")
    records = [r for r in split_records(binary.read_bytes()).records
               if any(number == HISTORY and wire == 2 for number, wire, _ in fields(r))]
    kept = records[:first] + records[-last:]
    (out / "files").mkdir(parents=True, exist_ok=True)
    (out / binary.name).write_bytes(frame(kept))
    text = (src / "files" / "config.yaml").read_text()
    start = text.index("_wandb:\n")
    rest = text[start + len("_wandb:\n"):]
    end = next(i for i, line in enumerate(rest.splitlines(keepends=True)) if line[:1] not in (" ", ""))
    lines = rest.splitlines(keepends=True)
    (out / "files" / "config.yaml").write_text(text[:start] + "".join(lines[end:]))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), *(int(a) for a in sys.argv[3:5]))
