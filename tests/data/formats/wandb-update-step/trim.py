"""Trim a real W&B run folder into this test folder: `python trim.py SRC_RUN_DIR OUT_RUN_DIR [FIRST LAST]`.

Keeps the run's first FIRST and last LAST history records as they were written (their protobuf bytes
unchanged), framed again into a `.wandb` file the way the SDK frames them (LevelDB-log chunks in 32 KiB
blocks), and `files/config.yaml` without its `_wandb` block (the writer's host, e-mail and GPU ids). The
summary, system-stats and environment records are left out.
"""
from __future__ import annotations

import sys
from pathlib import Path

from advisor.ingest.wandb_log import fields, split_records

# the SDK's framing, as the W&B reader's tests write it
sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from test_ingest_wandb import frame_records as frame  # noqa: E402

HISTORY = 2  # wandb_internal.Record.history


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
