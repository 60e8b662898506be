"""Generic JSON-lines metric logs (advisor.ingest.jsonl_logs): a training loop's `metrics.jsonl`,
Ray Tune's `result.json`, detectron2's `metrics.json`.

Recorded trainings from the out-of-sample corpus (tests/data/oos) are written again as those
writers write them, and must read as the same run with the same diagnosis as their TensorBoard
copy. Before this module none of them was found at all ("no training log found").
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from advisor.ingest import read as read_source
from advisor.ingest.discover import discover
from advisor.roles import build_curves

sys.path.insert(0, str(Path(__file__).parents[1] / "bench"))
import format_invariance as fi  # noqa: E402
from recorded import verdict as _verdict  # noqa: E402

OOS = Path(__file__).parent / "data" / "oos"
TRUTH = json.loads((OOS / "truth.json").read_text())["runs"]
TB_TAGS = {"train_loss": "Loss/train", "val_loss": "Loss/val", "train_acc": "Accuracy/train",
           "val_acc": "Accuracy/val", "lr": "LR", "grad_norm": "Gradients/norm"}


_loop_jsonl = fi.jsonl_rows  # a loop's json.dumps per log call: (recording, path, {role: key}, x key)


@pytest.mark.parametrize("rid", ["0145-quantiles-adam_lr0.01", "0157-circles-momentum_0.99_blowup",
                                 "0014-seq-lstm_adam_slow"])
def test_a_loop_metrics_jsonl_reads_as_its_tensorboard_copy(tmp_path, rid):
    rec = fi.record(OOS, rid, TRUTH[rid])
    fi._tb_write(rec, tmp_path / "tb", TB_TAGS)
    fi.jsonl_loop(rec, tmp_path / "loop")  # metrics.jsonl on step (or epoch), config.json beside it
    sources, problems = discover([str(tmp_path / "loop")])
    assert not problems and [s.format for s in sources] == ["jsonl"]
    run = read_source(sources[0])
    curves, roles = build_curves(run)
    tb_roles = build_curves(read_source(discover([str(tmp_path / "tb")])[0][0]))[1]
    assert set(roles) == set(tb_roles) and {"train_loss", "lr"} <= set(roles)
    assert curves.hparams.get("lr") == pytest.approx(rec.hparams["lr"])
    original = _verdict(tmp_path / "tb")
    assert original[0]
    assert _verdict(tmp_path / "loop") == original


def test_ray_tune_result_json_takes_its_hparams_from_the_rows_config(tmp_path):
    """Ray Tune writes one row per `tune.report` (`training_iteration` 1, 2, ..., a unix
    `timestamp`, the trial's `config` repeated in each row) into `result.json` beside
    `params.json`. The config is the run's hparams, not a series; the run reads as its Keras CSV."""
    rid = "0157-circles-momentum_0.99_blowup"  # epoch-level, SGD momentum 0.99 at LR 0.3: divergence
    rec = fi.record(OOS, rid, TRUTH[rid])
    fi.keras_csv(rec, tmp_path / "keras")
    fi.ray_tune(rec, tmp_path / "ray")
    sources, problems = discover([str(tmp_path / "ray")])
    assert not problems and len(sources) == 1 and sources[0].format == "jsonl"
    run = read_source(sources[0])
    curves, roles = build_curves(run)
    assert not any(t.startswith("config.") for t in run.series)
    assert curves.hparams["lr"] == pytest.approx(0.3) and curves.hparams["optimizer"].lower() == "sgd"
    assert roles["train_loss"] == "loss" and roles["val_loss"] == "val_loss"
    original = _verdict(tmp_path / "keras")
    assert "divergence" in original[0]
    assert _verdict(tmp_path / "ray") == original


def test_detectron2_metrics_json_is_read_on_its_iterations(tmp_path):
    """detectron2's `metrics.json` (JSON lines on `iteration`, `total_loss`, `lr`, timings)."""
    rid = "0145-quantiles-adam_lr0.01"
    rec = fi.record(OOS, rid, TRUTH[rid])
    _loop_jsonl(rec, tmp_path / "d2" / "metrics.json", {"train_loss": "total_loss", "lr": "lr"}, "iteration")
    run = read_source(discover([str(tmp_path / "d2")])[0][0])
    curves, roles = build_curves(run)
    assert roles["train_loss"] == "total_loss"
    x, y, _ = rec.series["train_loss"]
    assert list(curves.get("train_loss").x) == [float(v) for v in x]
    assert list(curves.get("train_loss").y) == pytest.approx(list(y))


def test_a_cut_last_line_and_a_stray_line_keep_the_rest(tmp_path):
    """A log still being written ends mid-line; a print() that went to the same file is no row.
    Both are said in one warning each, naming the file; every whole row is kept."""
    rid = "0014-seq-lstm_adam_slow"
    rec = fi.record(OOS, rid, TRUTH[rid])
    path = tmp_path / "run" / "metrics.jsonl"
    _loop_jsonl(rec, path, {"train_loss": "loss", "val_loss": "val_loss"}, "step")
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines[:5], "epoch 1 done", *lines[5:]]) + "\n" + '{"step": 99999, "lo')
    run = read_source(discover([str(tmp_path / "run")])[0][0])
    assert len(run.series["loss"]) + len(run.series["val_loss"]) == len(lines)
    assert any(str(path) in w and "skipped 1 line(s) that are not JSON objects (lines 6)" in w
               for w in run.warnings), run.warnings
    assert any(str(path) in w and f"last line {len(lines) + 2} is cut short" in w for w in run.warnings)
    assert run.meta["truncated"]


@pytest.mark.parametrize("name, text", [
    ("all_results.json", '{"epoch": 3.0, "eval_loss": 0.41, "train_loss": 0.52}\n'),
    ("config.json", '{\n  "lr": 0.1,\n  "loss": "mse"\n}\n'),
])
def test_a_summary_or_a_config_is_not_a_log(tmp_path, name, text):
    """One JSON object of final numbers, or a pretty-printed config: no curve to read."""
    (tmp_path / name).write_text(text)
    sources, _ = discover([str(tmp_path)])
    assert not [s for s in sources if s.format == "jsonl"]


def _llama_factory_log(state: dict) -> str:
    """trainer_log.jsonl as LLaMA-Factory's LogCallback writes it from the Trainer's log history: one row per
    logged step with `current_steps`, `total_steps`, the loss or eval_loss, `lr`, `epoch`, `percentage` and the
    elapsed and remaining times as `H:MM:SS` text."""
    rows = []
    for entry in state["log_history"]:
        if "loss" not in entry and "eval_loss" not in entry:
            continue
        row = {"current_steps": entry["step"], "total_steps": state["max_steps"], "loss": entry.get("loss"),
               "eval_loss": entry.get("eval_loss"), "lr": entry.get("learning_rate"), "epoch": entry.get("epoch"),
               "percentage": round(entry["step"] / state["max_steps"] * 100, 2), "elapsed_time": "0:00:12",
               "remaining_time": "0:01:40"}
        rows.append(json.dumps({k: v for k, v in row.items() if v is not None}))
    return "\n".join(rows) + "\n"


@pytest.mark.parametrize("folder", [Path(__file__).parent / "data" / "formats" / "hf-trainer" / "0145-quantiles-adam_lr0.01",
                                    OOS / "gen2div-s1-0113-digits-sgd_small_batch_high"])
def test_llama_factorys_trainer_log_counts_its_current_steps(tmp_path, folder):
    """LLaMA-Factory's trainer_log.jsonl names its step `current_steps`: the x axis, so every loss and
    eval_loss sits at the step the Trainer logged it at (the rows hold no grad norm, accuracy or
    TrainingArguments, so the diagnosis may differ from the state file's). Before, the rows were read by their rank (`x_axis` row: an evaluation every 100
    steps read at row 10, 21, ...). Beside the trainer_state.json it copies, it is side output."""
    from advisor.pipeline import read_runs

    state = json.loads((folder / "trainer_state.json").read_text())
    (tmp_path / "alone").mkdir()
    (tmp_path / "alone" / "trainer_log.jsonl").write_text(_llama_factory_log(state))
    (run,), _ = read_runs([str(tmp_path / "alone")])
    assert run.meta["x_axis"] == "current_steps"
    for tag in [t for t in ("loss", "eval_loss") if any(t in e for e in state["log_history"])]:
        logged = [(e["step"], e[tag]) for e in state["log_history"] if tag in e]
        assert list(zip(run.series[tag].step.tolist(), run.series[tag].value.tolist())) == logged
    both = tmp_path / "output_dir"
    both.mkdir()
    for f in folder.iterdir():
        (both / f.name).write_bytes(f.read_bytes())
    (both / "trainer_log.jsonl").write_text(_llama_factory_log(state))
    runs, _ = read_runs([str(both)])
    assert [r.format for r in runs] == ["hf-trainer"]


HISTORY = Path(__file__).parent / "data" / "formats" / "json-history"


@pytest.mark.parametrize("layout", ["loop", "pandas"])
def test_a_history_dumped_as_one_json_array_reads_at_its_epochs(layout):
    """A loop that keeps its history as a list of per-epoch dicts and dumps it at the end (history_fit.py: one
    real training; `json.dump(history, f, indent=2)` and pandas' `to_json(orient="records")`): every row at its
    epoch, and the run's overfitting found (the val loss's minimum at epoch 13, then 17% above it). Before,
    a `.json` file holding an array of objects was no training log."""
    truth = json.loads((HISTORY / "truth.json").read_text())["rows"]
    sources, problems = discover([str(HISTORY / layout)])
    assert not problems and [s.format for s in sources] == ["jsonl"]
    run = read_source(sources[0])
    assert not run.warnings
    for key in ("train_loss", "val_loss", "val_acc"):
        assert run.series[key].step.tolist() == [r["epoch"] for r in truth]
        assert run.series[key].value.tolist() == [r[key] for r in truth]
    rules, first = _verdict(HISTORY / layout)
    assert rules == ["overfitting"] and first == "early_stop"


def test_a_json_array_cut_short_keeps_its_rows_and_an_array_of_configs_is_no_run(tmp_path):
    """A run killed while `json.dump` wrote its history leaves an array cut mid-object: the objects before the
    cut are kept, with a warning. An array of configs (`[{"lr": 0.1, "batch_size": 32}, ...]`, a sweep's grid)
    has no loss or accuracy: not a training log."""
    text = (HISTORY / "loop" / "history.json").read_text()
    (tmp_path / "cut").mkdir()
    (tmp_path / "cut" / "history.json").write_text(text[:len(text) // 2])
    run = read_source(discover([str(tmp_path / "cut")])[0][0])
    assert 25 <= len(run.series["train_loss"]) < 60 and "cut short" in run.warnings[0]
    (tmp_path / "grid").mkdir()
    (tmp_path / "grid" / "sweep.json").write_text(json.dumps([{"lr": 10.0 ** -k, "batch_size": 32} for k in range(5)]))
    sources, problems = discover([str(tmp_path / "grid")])
    assert sources == [] and problems
    # a review's false claims: per-sample losses (read as a 50-"epoch" divergence before), a sweep's results, a
    # model comparison: records with a loss but no position are no history
    for name, rows in (("samples", [{"id": f"img_{i:04d}.jpg", "label": i % 2, "loss": 0.1 * i} for i in range(50)]),
                       ("sweep", [{"lr": 10.0 ** -k, "batch_size": 32, "val_loss": 1 / (k + 1)} for k in range(6)]),
                       ("models", [{"model": m, "top1_accuracy": 0.7, "eval_loss": 1.1} for m in ("resnet18", "vit")])):
        (tmp_path / name).mkdir()
        (tmp_path / name / "results.json").write_text(json.dumps(rows))
        assert discover([str(tmp_path / name)])[0] == [], name
    # json.dump called twice in append mode: both arrays, the second a restart
    (tmp_path / "twice").mkdir()
    (tmp_path / "twice" / "history.json").write_text(
        "".join(json.dumps([{"epoch": e, "loss": v / e} for e in (1, 2, 3)]) for v in (1.0, 2.0)))
    run = read_source(discover([str(tmp_path / "twice")])[0][0])
    assert run.series["loss"].step.tolist() == [1, 2, 3, 1, 2, 3] and run.events[0]["kind"] == "restart"
