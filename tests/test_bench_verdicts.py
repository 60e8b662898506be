"""bench/verdicts.py: the per-run dump of a labelled corpus, the diff of two dumps and the error list, on a
corpus of two recorded trainings (a healthy run and an overfitting one, tests/data/oos)."""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import verdicts  # noqa: E402

OOS = Path(__file__).parent / "data" / "oos"
RUNS = {"g2div23-g42-0252-cancer-adagrad_high": [], "ovf23-oos248-0220-blobs-rmsprop_lr0.1": ["overfitting"]}


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "c1"
    entries = []
    for name, patterns in RUNS.items():
        shutil.copytree(OOS / name, root / "runs" / name)
        entries.append({"path": f"runs/{name}", "patterns": patterns, "healthy": not patterns,
                        "expected_actions": ["early_stop", "regularize"] if patterns else []})
    (root / "truth.json").write_text(json.dumps({"generator": "bench/make_corpus_oos.py", "runs": entries}))
    return root


def test_dump_diff_and_errors(corpus: Path, tmp_path: Path, capsys):
    before = tmp_path / "before.json"
    assert verdicts.main(["dump", str(before), str(corpus), "--jobs", "1"]) == 0
    rows = json.loads(before.read_text())
    by_name = {Path(r["truth"]["path"]).name: r for r in rows}
    assert by_name["ovf23-oos248-0220-blobs-rmsprop_lr0.1"]["pred"]["patterns"] == ["overfitting"]
    assert "divergence" not in by_name["g2div23-g42-0252-cancer-adagrad_high"]["pred"]["patterns"]
    # the same dump moves nothing; a changed verdict is listed with both readings
    after = tmp_path / "after.json"
    changed = json.loads(before.read_text())
    for r in changed:
        if r["truth"]["patterns"]:
            r["pred"].update(patterns=[], first_action=None)
    after.write_text(json.dumps(changed))
    capsys.readouterr()
    verdicts.main(["diff", str(before), str(before)])
    assert capsys.readouterr().out.rstrip().endswith("0 runs moved")
    verdicts.main(["diff", str(before), str(after)])
    out = capsys.readouterr().out
    assert "1 runs moved" in out and "['overfitting']/regularize -> []/None" in out
    assert "macro-F1 1.000" in out and "macro-F1 0.000" in out
    # on a blind corpus only the scores and the count come out: no run is named
    verdicts.main(["diff", "--aggregate", str(before), str(after)])
    out = capsys.readouterr().out
    assert "1 runs moved" in out and "macro-F1 0.000" in out
    assert "rmsprop" not in out and "->" not in out
    # the error list names the miss of the changed dump, and nothing for the right one
    assert verdicts.errors(json.loads(before.read_text())) == []
    (line,) = verdicts.errors(changed)
    assert "missed ['overfitting']" in line and "first None" in line
