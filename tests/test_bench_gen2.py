"""bench/make_corpus_gen2.py: a tiny generation gives a corpus bench/score.py reads, and every
writer family's run is read back by advisor with its loss, LR and hyperparameters in their roles.

One short training per writer (300 steps of a small MLP on moons, the labeller's own reference
configuration so the label is clear-cut) goes through the generator's real path: train, label,
build the Recording, write with bench/format_invariance.py's writer (the real libraries).
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from advisor.ingest import read as read_source
from advisor.ingest.discover import discover
from advisor.roles import build_curves

REPO = Path(__file__).parents[1]
sys.path.insert(0, str(REPO))
from bench import make_corpus_gen2 as gen2  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.trains]

# one writer per family, and whether that format carries the hyperparameters
STEP_WRITERS = {"torch-tutorial": True, "tensorboardX": True, "lightning-csv": True, "hf-trainer": True,
                "wandb-lightning": True, "mlflow": True, "csv-camel": False}
EPOCH_WRITERS = {"keras-csv": False, "keras-tb": False, "mlflow-keras": True}


def _spec(i: int, writer: str, granularity: str) -> dict:
    # moons: 1280 training points, batch 64 -> 20 steps per epoch; 15 epochs = 300 steps
    cfg = {"model": "mlp", "task": "moons", "depth": 2, "hidden": 64, "activation": "relu", "batch_size": 64,
           "optimizer": "adam", "lr": 3e-3, "schedule": "constant", "steps": 300, "eval_every": 20}
    return {"id": f"{i:04d}-moons-{writer}", "config": cfg, "cause": "none", "regime": "healthy_adam", "seed": 0,
            "writer": writer, "granularity": granularity, "steps_per_epoch": 20, "train_only": False,
            "hparams": "all", "log_every": 1 if granularity == "epoch" else 5, "log_mean": True,
            "grad_norm": granularity == "step", "step_seconds": 0.01}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("gen2")
    specs = [_spec(i, w, "step") for i, w in enumerate(STEP_WRITERS)]
    specs += [_spec(len(specs) + i, w, "epoch") for i, w in enumerate(EPOCH_WRITERS)]
    runs, rejected = {}, {}
    for spec in specs:
        rid, entry, why = gen2.run_spec((spec, str(out)))
        if entry is None:
            rejected[rid] = why
        else:
            runs[rid] = entry
    gen2.write_truth(out, "bench/make_corpus_gen2.py", runs, rejected, 0.0)
    return out


def test_every_writer_family_is_labelled_and_written(corpus):
    truth = json.loads((corpus / "truth.json").read_text())
    assert not truth["rejected"], truth["rejected"]
    writers = {e["writer"] for e in truth["runs"].values()}
    assert writers == set(STEP_WRITERS) | set(EPOCH_WRITERS)
    for e in truth["runs"].values():
        # the labeller judged the hidden full-batch loss: the reference's own config is healthy
        assert e["healthy"] and e["patterns"] == [] and e["stats"]["evals"] == 15, e
        assert (corpus / e["path"]).is_dir()


@pytest.mark.parametrize("writer", [*STEP_WRITERS, *EPOCH_WRITERS])
def test_advisor_reads_the_roles_back(corpus, writer):
    truth = json.loads((corpus / "truth.json").read_text())["runs"]
    entry = next(e for e in truth.values() if e["writer"] == writer)
    sources, problems = discover([str(corpus / entry["path"])])
    assert len(sources) == 1 and not problems, (sources, problems)
    curves, roles = build_curves(read_source(sources[0]))
    assert {"train_loss", "val_loss", "lr"} <= set(roles), roles
    assert len(curves.get("val_loss")) == 15
    if (STEP_WRITERS | EPOCH_WRITERS)[writer]:
        assert curves.hparams.get("lr") == pytest.approx(3e-3) and str(curves.hparams.get("optimizer")).startswith("adam"), \
            curves.hparams


def test_score_reads_the_corpus(corpus):
    out = subprocess.run([sys.executable, str(REPO / "bench" / "score.py"), str(corpus), "--json", "--jobs", "1"],
                         capture_output=True, text=True, cwd=REPO, check=True).stdout
    result = json.loads(out)
    assert result["healthy_runs"] == len(STEP_WRITERS) + len(EPOCH_WRITERS)


def test_specs_are_deterministic_and_cover_the_sweep():
    a, b = gen2.make_specs(240, 1), gen2.make_specs(240, 1)
    assert a == b and a != gen2.make_specs(240, 2)
    assert {s["writer"] for s in a} == set(gen2.WRITERS)
    assert {s["config"]["optimizer"] for s in a} == {"adam", "nadam", "adamax", "adagrad", "rmsprop", "sgd"}
    assert {s["config"]["model"] for s in a} == {"mlp", "resmlp", "cnn", "gru"}
    assert {s["granularity"] for s in a} == {"step", "epoch"}
    assert all(s["granularity"] == "epoch" for s in a if gen2.WRITERS[s["writer"]][1])
