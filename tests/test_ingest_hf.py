"""HF Trainer ingest: corpus runs, the Trainer-written fixture, newest-state choice, odd rows.

Counting follows MANIFEST.md: "numeric keys in log_history except step/epoch". The reader keeps
`epoch` as a series (it maps steps to epochs), so the tests drop it before comparing.
"""
from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pytest

from advisor.ingest import hf_trainer
from advisor.ingest.discover import discover, walk
from conftest import FIXTURES, assert_matches_manifest, real_manifest

HF_ENTRIES = [m for m in real_manifest() if m["folder"].startswith("hf-trainer/")]


def counted(run):
    return {tag: s for tag, s in run.series.items() if tag != "epoch"}


def read_one(folder):
    sources, problems = discover([folder])
    assert len(sources) == 1 and sources[0].format == "hf-trainer", (sources, problems)
    return hf_trainer.read(sources[0])


@pytest.mark.parametrize("entry", HF_ENTRIES, ids=[m["folder"] for m in HF_ENTRIES])
def test_real_trainer_states_match_manifest(real_logs, entry):
    run = read_one(real_logs / entry["folder"])
    assert_matches_manifest(counted(run), entry)
    assert run.warnings == []


def test_root_file_wins_when_it_is_the_superset(real_logs):
    run = read_one(real_logs / "hf-trainer/whisper-large-v2-ja-5k")
    assert run.meta["state_file"].endswith("whisper-large-v2-ja-5k/trainer_state.json")
    assert run.series["train_runtime"].step.tolist() == [5000]  # the summary row only the root has
    assert len(run.meta["state_files"]) == 2


def test_predict_rows_without_step_take_the_previous_step(real_logs):
    run = read_one(real_logs / "hf-trainer/cpt-seq2seq-summarization-predict-entries")
    assert run.series["predict_loss"].step.tolist()[:2] == run.series["eval_loss"].step.tolist()[:2]
    assert "without a step" in run.meta["x_note"]


def test_state_hparams_and_checkpoint_output_dir(real_logs):
    run = read_one(real_logs / "hf-trainer/lora-roberta-agnews")
    assert run.path.endswith("lora-roberta-agnews/results")
    assert run.hparams["train_batch_size"] == 32 and run.hparams["logging_steps"] == 100
    assert run.meta["state"]["global_step"] == 1200


# ----------------------------------------------------------------------------- fixture


def test_trainer_written_fixture_keeps_nan_tokens():
    tree = walk(FIXTURES / "hf")
    (source,) = hf_trainer.claim(tree)
    assert tree.unclaimed() == []
    run = hf_trainer.read(source)
    assert run.meta["state_file"].endswith("tiny-run/trainer_state.json")
    assert run.series["loss"].step.tolist() == [2, 4, 6, 8, 10, 12]
    assert np.isnan(run.series["loss"].value[-2:]).all() and np.isnan(run.series["grad_norm"].value[-1])
    assert math.isnan(run.series["train_loss"].value[0]) and run.series["train_loss"].step.tolist() == [12]
    assert run.hparams["learning_rate"] == 0.05  # from training_args.json
    assert run.writer.startswith("hf-transformers")


def test_highest_checkpoint_wins_numerically(tmp_path):
    out = tmp_path / "out"
    shutil.copytree(FIXTURES / "hf" / "tiny-run", out)
    (out / "trainer_state.json").unlink()
    (source,) = hf_trainer.claim(walk(out))
    run = hf_trainer.read(source)
    assert run.meta["state_file"].endswith("checkpoint-12/trainer_state.json")  # not checkpoint-8
    assert run.series["loss"].step.tolist() == [2, 4, 6, 8, 10, 12]


def test_several_output_dirs_are_several_runs(tmp_path):
    for name in ("a", "b"):
        shutil.copytree(FIXTURES / "hf" / "tiny-run", tmp_path / name)
    sources = hf_trainer.claim(walk(tmp_path))
    assert sorted(s.path.name for s in sources) == ["a", "b"]


def test_half_written_state_recovers_complete_entries(tmp_path):
    text = (FIXTURES / "hf" / "tiny-run" / "trainer_state.json").read_text()
    cut = text.index('"loss": 5.25')  # inside the fourth log_history entry
    (tmp_path / "trainer_state.json").write_text(text[:cut])
    (source,) = hf_trainer.claim(walk(tmp_path))
    run = hf_trainer.read(source)
    assert run.series["loss"].step.tolist() == [2, 4]
    assert run.series["eval_loss"].step.tolist() == [4]
    assert len(run.warnings) == 1 and "recovered 3 complete log_history entries" in run.warnings[0]
    assert run.hparams["eval_steps"] == 4  # top-level keys before the cut are kept too


def test_damaged_checkpoint_does_not_hide_the_good_ones(tmp_path):
    out = tmp_path / "out"
    shutil.copytree(FIXTURES / "hf" / "tiny-run", out)
    (out / "trainer_state.json").write_text("")
    run = hf_trainer.read(hf_trainer.claim(walk(out))[0])
    assert run.meta["state_file"].endswith("checkpoint-12/trainer_state.json")
    assert any("empty file" in w for w in run.warnings)


def test_json_without_log_history_is_not_claimed(tmp_path):
    (tmp_path / "trainer_state.json").write_text(json.dumps({"global_step": 3}))
    assert hf_trainer.claim(walk(tmp_path)) == []
