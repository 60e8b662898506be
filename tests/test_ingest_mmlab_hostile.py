"""OpenMMLab logs that are damaged or hostile (advisor/ingest/mmlab.py): the config is read as literals and
never run, a cut or corrupt line costs only itself, a non-finite loss is data. The real logs are in
test_ingest_mmlab.py."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from advisor.ingest.mmlab import config_hparams, parse_config
from advisor.pipeline import diagnose_paths, read_runs


def _mmcv_log(path: Path, config: str, rows: list[dict], tail: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps({"env_info": "sys.platform: linux", "config": config, "seed": 0})]
    lines += [json.dumps(r) for r in rows]
    path.write_text("\n".join(lines) + "\n" + tail)
    return path


def _train_rows(epochs: int = 3, per_epoch: int = 4, loss=lambda g: 2.0 / (1 + g / 5)) -> list[dict]:
    rows = []
    for e in range(1, epochs + 1):
        for i in range(1, per_epoch + 1):
            g = (e - 1) * per_epoch + i
            rows.append({"mode": "train", "epoch": e, "iter": i, "lr": 0.01, "loss": loss(g), "time": 0.1})
        rows.append({"mode": "val", "epoch": e, "iter": 50, "lr": 0.01, "accuracy_top-1": 50.0 + e})
    return rows


def test_a_config_is_parsed_as_literals_never_run(tmp_path):
    """A config line that would run code (`__import__('os').system(...)`) is no literal and is skipped; the
    literal assignments around it are read. Nothing is executed: the marker file is never written."""
    marker = tmp_path / "pwned"
    config = (f"optimizer = dict(type='SGD', lr=0.02, momentum=0.9)\n"
              f"x = __import__('os').system('touch {marker}')\n"
              f"data = dict(samples_per_gpu=8, workers_per_gpu=2)\n"
              f"runner = dict(type='EpochBasedRunner', max_epochs=3)\n")
    log = _mmcv_log(tmp_path / "work" / "20240101_000000.log.json", config, _train_rows())
    run = read_runs([str(log)])[0][0]
    assert not marker.exists()
    assert run.hparams == {"optimizer": "SGD", "lr": 0.02, "momentum": 0.9, "batch_size": 8, "max_epochs": 3}
    assert "x" not in parse_config(config)


def test_a_config_that_is_not_python_or_nests_without_end_is_a_warning(tmp_path):
    warnings: list[str] = []
    assert config_hparams("optimizer = dict(lr=", warnings, Path("c.py")) == {}
    assert config_hparams("a = " + "[" * 5000 + "]" * 5000, warnings, Path("c.py")) == {}
    deep = "optimizer = " + "dict(a=" * 60 + "1" + ")" * 60
    assert config_hparams(deep, warnings, Path("c.py")) == {}
    assert len(warnings) == 2 and all(w.startswith("c.py: config not read") for w in warnings)


def test_a_cut_last_line_and_a_corrupt_line_cost_only_themselves(tmp_path):
    rows = _train_rows()
    log = _mmcv_log(tmp_path / "w" / "20240101_000000.log.json", "", rows[:3] + rows[3:], tail='{"mode": "train", "ep')
    text = log.read_text().replace(json.dumps(rows[5]), "\x00garbage", 1)
    log.write_text(text)
    run = read_runs([str(log)])[0][0]
    assert len(run.series["loss"]) == 11  # 12 training rows, one overwritten
    assert any("cut short" in w for w in run.warnings) and any("not JSON objects" in w for w in run.warnings)


def test_a_non_finite_loss_is_data_and_a_divergence(tmp_path):
    """A loss that goes NaN (mmcv json.dumps writes NaN) is kept as NaN and diagnosed, not dropped."""
    rows = _train_rows(epochs=4, loss=lambda g: 2.0 / (1 + g / 5) if g < 10 else (1e3 * g if g < 13 else math.nan))
    log = _mmcv_log(tmp_path / "w" / "20240101_000000.log.json", "", rows)
    run = read_runs([str(log)])[0][0]
    assert int(np.isnan(run.series["loss"].value).sum()) == 4
    diagnosis = diagnose_paths([str(log)])
    assert "divergence" in {f.pattern for r in diagnosis.runs for f in r.findings}


def test_a_json_log_that_is_no_openmmlab_log_is_left_to_the_generic_reader(tmp_path):
    """A loop's metrics.jsonl with a `mode` key but no epoch or iteration, and a scalars.json outside a
    vis_data folder, are not OpenMMLab's."""
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "metrics.jsonl").write_text("".join(json.dumps({"mode": "train", "step": s, "loss": 1 / (s + 1)})
                                                           + "\n" for s in range(5)))
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "scalars.json").write_text("".join(json.dumps({"step": s, "loss": 1 / (s + 1)}) + "\n"
                                                         for s in range(5)))
    runs, _ = read_runs([str(tmp_path)])
    assert sorted(r.format for r in runs) == ["jsonl", "jsonl"]

