"""fixtures/truth.json agrees with the committed files, and every label still holds.

Why: detectors are scored against these labels, so a label must be a measured fact about the
committed bytes. Each run is read back with its format's reference reader (fixtures/labels.py:
tbparse, pandas, json, plain files) and relabelled with the objective criteria; the patterns and
onsets must come out exactly as recorded, with no near-miss. No training happens here.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "fixtures"
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from fixtures.labels import CRITERIA, PATTERNS, label_curves, load_curves  # noqa: E402

TRUTH = json.loads((FIXTURES / "truth.json").read_text())
RUNS = TRUTH["runs"]
FAMILIES = {"tensorboard", "csv", "json", "hf-trainer", "wandb", "mlflow"}


def test_schema_and_criteria_are_current():
    assert TRUTH["schema"] == "advisor.fixtures/1"
    assert TRUTH["criteria"] == CRITERIA, "criteria changed: rerun fixtures/make_fixtures.py"


@pytest.mark.parametrize("name", sorted(RUNS))
def test_entry_is_consistent_with_the_files(name):
    e = RUNS[name]
    assert (FIXTURES / e["path"]).exists(), e["path"]
    assert (FIXTURES / e["read"]).exists(), e["read"]
    assert Path(e["path"]).parts[:2] == ("runs", name)
    assert e["format"] in FAMILIES
    assert set(e["patterns"]) <= set(PATTERNS)
    assert set(e["onsets"]) == set(e["patterns"])
    assert e["healthy"] == (not e["patterns"])
    assert e["notes"] and e["config"]["task"]
    assert {"train_loss", "val_loss"} == set(e["metrics"])


@pytest.mark.parametrize("name", sorted(RUNS))
def test_labels_hold_when_recomputed_from_the_committed_files(name):
    e = RUNS[name]
    curves = load_curves(FIXTURES, {**e, "path": e["read"]})
    tr, va = curves["train_loss"], curves["val_loss"]
    assert len(tr[0]) >= 5
    lab = label_curves(tr[0], tr[1], va[0], va[1], e["reference"])
    assert sorted(lab["patterns"]) == sorted(e["patterns"])
    assert lab["onsets"] == e["onsets"]
    assert lab["ambiguous"] == []


# The statistics that make each label, as ratios to their thresholds (fixtures/margins.py).
LABEL_STATS = {"divergence": ("div",), "overfitting": ("ovf.rise", "ovf.train_fall"),
               "oscillation": ("osc.resid", "osc.rel", "osc.settle"), "plateau": ("plateau.len",),
               "slow_convergence": ("slow.t", "slow.drop")}
MARGIN = 1.25


@pytest.mark.parametrize("name", sorted(RUNS))
def test_each_label_clears_its_thresholds_with_a_margin(name):
    """A fixture config is retrained on other CPUs (tests below, CI's second kernel setting), where
    torch's float kernels shift every statistic a little. batch16-lr0.5 was labelled overfitting
    with a val rise of 1.161 against 1.15 and lost the label on AVX2 CPUs: each statistic that
    makes a label must clear its threshold by MARGIN (measured spread across kernels and seeds:
    `python fixtures/margins.py`)."""
    from fixtures.margins import ratios

    e = RUNS[name]
    got = ratios(e["stats"])
    for pattern in e["patterns"]:
        if pattern == "divergence" and got["div"] is None:
            continue  # a non-finite loss, no trend ratio needed
        for stat in LABEL_STATS[pattern]:
            assert got[stat] >= MARGIN, (name, pattern, stat, got[stat])


def test_every_case_folder_is_in_truth():
    assert {d.name for d in (FIXTURES / "runs").iterdir()} == set(RUNS)


def test_coverage_of_patterns_formats_and_size():
    seen = {p for e in RUNS.values() for p in e["patterns"]}
    assert seen == set(PATTERNS)
    assert sum(e["healthy"] for e in RUNS.values()) >= 3
    assert len({e["writer"] for e in RUNS.values()}) >= 8
    assert len({e["format"] for e in RUNS.values()}) >= 5
    size = sum(f.stat().st_size for f in (FIXTURES / "runs").rglob("*") if f.is_file())
    assert size < 2_000_000


# ----------------------------------------------------------------------------- generators


def _case(name):
    from fixtures.make_fixtures import CASES

    return next(c for c in CASES if c.name == name)


# batch4-lr0.25 trains chaotically (plain SGD on minibatches of 4 at LR 0.25): a CPU's float kernels move its
# trajectory as another seed would. On an AMD EPYC's AVX-512 kernels (session 19) its seed 0 settles in its
# last quarter and takes no label, where Intel's AVX-512, AVX2 and plain kernels gave oscillation with a
# margin; over seeds 0-2 x three kernels there, 8 of 9 trajectories are labelled oscillation (fixtures/margins.py;
# 1,200 steps or LR 0.35 are no steadier: 11 and 4 of 18). Its label is a fact about the config over seeds,
# not one trajectory: it must come out on most of these seeds.
SEEDS = {"batch4-lr0.25": (0, 1, 2)}


def _labels_over_seeds(tmp_path, name) -> list[dict]:
    """The fixture config's labels (patterns, onsets, near misses) trained at its own seed (make_case:
    raises on a mismatch, with the statistics), or at each of SEEDS[name] (measure_case)."""
    import dataclasses

    from fixtures.make_fixtures import make_case, measure_case

    case = _case(name)
    if name not in SEEDS:
        return [{**make_case(case, tmp_path), "ambiguous": []}]
    return [measure_case(dataclasses.replace(case, seed=seed), tmp_path / f"seed{seed}")[1]
            for seed in SEEDS[name]]


def _reproduced(labels: list[dict], name: str) -> bool:
    """The recorded label, without a near miss, on most of the trainings."""
    hits = sum(sorted(lab["patterns"]) == RUNS[name]["patterns"] and not lab["ambiguous"] for lab in labels)
    return hits * 2 > len(labels)


@pytest.mark.trains
@pytest.mark.parametrize("name", ["lr-too-low", "overfitting-keras-csv", "batch4-lr0.25"])
def test_a_fixture_config_still_reproduces_its_label(tmp_path, name):
    """Guards the built-in trials: a change that alters training must be caught before the
    committed fixtures silently stop matching what their configs produce (a chaotic config: on most
    of its seeds, at any onset)."""
    pytest.importorskip("torch")
    labels = _labels_over_seeds(tmp_path, name)
    assert _reproduced(labels, name), [(lab["patterns"], lab["ambiguous"]) for lab in labels]
    if name not in SEEDS:
        assert labels[0]["onsets"] == RUNS[name]["onsets"]


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(RUNS))
def test_every_fixture_config_reproduces_its_label(tmp_path, name):
    pytest.importorskip("torch")
    labels = _labels_over_seeds(tmp_path, name)
    assert _reproduced(labels, name), [(lab["patterns"], lab["ambiguous"]) for lab in labels]


def test_corpus_sweep_is_seeded_and_covers_every_writer():
    pytest.importorskip("sklearn")
    sys.path.insert(0, str(REPO / "bench"))
    from make_corpus import EPOCH_WRITERS, STEP_WRITERS, make_specs

    a, b = make_specs(120, 0), make_specs(120, 0)
    assert a == b and a != make_specs(120, 1)
    assert {s["writer"] for s in a} == set(STEP_WRITERS) | set(EPOCH_WRITERS)
    assert all(s["steps"] <= 3000 for s in a)
    assert len({s["regime"].split("_x")[0] for s in a}) >= 10
