"""The command runner: per-token substitution with no shell, devices, timeouts and crashes."""
from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import pytest

from advisor.verify import runner
from advisor.verify.runner import (
    ArgRules, DevicePlan, TemplateError, format_value, placeholders, render_argv, resolve_device, run_cmd_trial,
    trial_env,
)

DATA = Path(__file__).resolve().parent / "data" / "verify"
PY = shlex.quote(sys.executable)
DUMP = shlex.quote(str(DATA / "argv_dump.py"))

EVIL = ["; rm -rf / #", "$(touch pwned)", "`touch pwned`", "a b  c", "--lr=9", "'quoted'", "{lr}", "x && touch pwned"]


def test_render_substitutes_inside_tokens_and_never_splits_values():
    argv = render_argv("python t.py --lr={lr} --name 'run {name}' {{literal}}", {"lr": 0.03, "name": "a b; c"})
    assert argv == ["python", "t.py", "--lr=0.03", "--name", "run a b; c", "{literal}"]
    for evil in EVIL:  # a whole-token value that starts with "-" needs --allow-dash-values (test_verify_template)
        rules = ArgRules(allow_dash=evil.startswith("-"))
        assert render_argv("p --note {note}", {"note": evil}, rules) == ["p", "--note", evil]


def test_render_errors_and_formats():
    with pytest.raises(TemplateError, match="unknown placeholder"):
        render_argv("p {lr.__class__}", {"lr": 1})
    with pytest.raises(TemplateError):
        render_argv("p 'unclosed", {})
    with pytest.raises(TemplateError):
        render_argv("   ", {})
    assert placeholders("p --lr {lr} --x={a.b}{c} {{no}}") == {"lr", "a.b", "c"}
    assert [format_value(v) for v in (True, None, 1e-4, 3, "s")] == ["true", "", "0.0001", "3", "s"]


@pytest.mark.parametrize("evil", EVIL)
def test_injection_reaches_the_command_as_one_literal_argument(tmp_path, monkeypatch, evil):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "argv.json"
    template = f"{PY} {DUMP} --out {shlex.quote(str(out))} --note {{note}} --lr {{lr}}"
    result = run_cmd_trial(template, {"note": evil, "lr": 0.1, "max_steps": 5, "seed": 0}, tmp_path / "logs",
                           None, 30, "baseline", 0, ArgRules(allow_dash=True))
    dumped = json.loads(out.read_text())
    assert dumped["argv"] == ["--out", str(out), "--note", evil, "--lr", "0.1"]
    assert not list(tmp_path.rglob("pwned")) and not Path("pwned").exists()
    assert "no readable logs" in (result.error or "")  # the dump script writes no training log


def test_timeout_and_crash_are_reported_not_raised(tmp_path):
    out = tmp_path / "a.json"
    slow = run_cmd_trial(f"{PY} {DUMP} --out {shlex.quote(str(out))} --sleep 30", {}, tmp_path / "slow", None, 1.0,
                         "baseline", 0)
    assert slow.error and "timed out" in slow.error and slow.wall_s < 15
    bad = run_cmd_trial(f"{PY} {DUMP} --out {shlex.quote(str(out))} --fail", {}, tmp_path / "bad", None, 30,
                        "baseline", 1)
    assert bad.error.startswith("exit code 3") and bad.run is None
    missing = run_cmd_trial("/nonexistent/binary --x", {}, tmp_path / "missing", None, 30, "baseline", 2)
    assert missing.error


def test_devices_resolve_without_and_with_gpus():
    assert resolve_device("auto", lambda: None).kind == "cpu"
    assert "not installed" in resolve_device("auto", lambda: None).note
    assert resolve_device("auto", lambda: 0).kind == "cpu"
    assert resolve_device("auto", lambda: 2) == DevicePlan("cuda", [0, 1])
    assert resolve_device("cuda:1", lambda: 2).gpus == [1]
    assert resolve_device("cpu", lambda: 4).kind == "cpu"
    for bad, count in (("cuda", 0), ("cuda:3", 2), ("tpu", 1)):
        with pytest.raises(TemplateError):
            resolve_device(bad, lambda c=count: c)
    assert DevicePlan("cuda", [0, 1]).slots(3) == [0, 1, 0]
    assert DevicePlan("cpu").slots(2) == [None, None]


def test_trial_env_pins_one_gpu_and_hides_gpus_on_cpu():
    env, dev = trial_env(1, {"CUDA_VISIBLE_DEVICES": "2,3", "PATH": "/bin"})
    assert env["CUDA_VISIBLE_DEVICES"] == "3" and dev == "cuda"
    env, dev = trial_env(0, {"PATH": "/bin"})
    assert env["CUDA_VISIBLE_DEVICES"] == "0"
    env, dev = trial_env(None, {"CUDA_VISIBLE_DEVICES": "0"})
    assert env["CUDA_VISIBLE_DEVICES"] == "" and dev == "cpu"
    assert runner.inprocess_device(None) == "cpu" and runner.inprocess_device(1) == "cuda:1"


def test_command_trials_fan_out_through_the_executor_one_gpu_each(tmp_path, monkeypatch):
    from advisor.verify.runner import run_cmd_trials

    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    outs = [tmp_path / f"{i}.json" for i in range(4)]
    template = f"{PY} {DUMP} --out {{out}} --sleep 0.3 --dev {{device}}"
    jobs = [({"out": str(outs[i])}, tmp_path / f"l{i}", "a", i) for i in range(4)]
    results = list(run_cmd_trials(template, jobs, 30, None, 2, gpus=["0", "1"]))
    assert [r.seed for r in results] == [0, 1, 2, 3]
    seen = [json.loads(o.read_text()) for o in outs]
    # every trial ran pinned to exactly one of the two GPUs (which worker takes which job is the pool's call)
    assert {s["cuda_visible_devices"] for s in seen} <= {"0", "1"}
    assert all(s["argv"][-1] == "cuda" for s in seen) and all(r.device == "cuda" for r in results)
    # on CPU the trials see no GPU at all
    cpu = list(run_cmd_trials(template, jobs[:2], 30, None, 2))
    assert [json.loads(o.read_text())["cuda_visible_devices"] for o in outs[:2]] == ["", ""]
    assert [r.device for r in cpu] == ["cpu", "cpu"]


def test_spawned_entry_workers_are_pinned_one_gpu_each(monkeypatch):
    from advisor.verify.entry import run_entry_parallel

    monkeypatch.syspath_prepend(str(DATA))
    jobs = [({}, 3, s, "cuda", "baseline") for s in range(4)]
    results = run_entry_parallel("entry_mod:train_env", jobs, 2, gpus=["0", "1"])
    seen = {float(r.run.series["env/cuda"].value[0]) for r in results}
    # every trial ran pinned to one of the two GPUs (which worker takes which job is the pool's call)
    assert seen and seen <= {0.0, 1.0} and len(results) == 4 and all(r.error is None for r in results)


PRINTS = shlex.quote(str(DATA / "print_script.py"))


def test_a_script_that_only_prints_is_read_from_its_output(tmp_path):
    """A trial whose script writes no log file (print_script.py prints as pytorch/examples' mnist does, and has
    no --logdir) is read from its own output, as `python train.py > train.log` would be: its losses at their
    sample counts. Before, every such trial failed with "no readable logs". A crash keeps what it printed."""
    ok = run_cmd_trial(f"{PY} {PRINTS} --lr {{lr}} --epochs 2 --seed {{seed}}", {"lr": 0.1, "seed": 1},
                       tmp_path / "ok", None, 60, "baseline", 1)
    assert ok.error is None and ok.run is not None and ok.run.format == "console"
    loss = ok.run.series["Loss"]
    assert loss.step[0] == 0 and loss.step[-1] > 2000 and len(loss) == 26  # 2 epochs x 13 printed batches
    assert "test_loss" in ok.run.series
    # at LR 10 the loss grows to 1e305 (printed with {:.6f}: 306 digits) and the script exits 1 at inf
    blown = run_cmd_trial(f"{PY} {PRINTS} --lr 10 --epochs 5", {}, tmp_path / "blown", None, 60, "baseline", 1)
    assert blown.error.startswith("exit code 1") and blown.run is not None
    assert len(blown.run.series["Loss"]) == 31 and blown.run.series["Loss"].value[-1] > 1e300
