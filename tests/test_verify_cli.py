"""`advisor verify` (--cmd end to end, --entry, usage), `advisor lr-find` on logs, and the hint
printed when torch is missing."""
from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from advisor.cli import main
from advisor.model import Finding, Recommendation

DATA = Path(__file__).resolve().parent / "data" / "verify"
SCRIPT = DATA / "sgd_script.py"
TEMPLATE = (f"{shlex.quote(sys.executable)} {shlex.quote(str(SCRIPT))} --lr {{lr}} --batch-size {{batch_size}} "
            "--max-steps {max_steps} --seed {seed} --logdir {logdir} --note {note}")


def _bad_run(tmp_path: Path, lr: float, note: str) -> Path:
    run = tmp_path / f"run-lr{lr}"
    subprocess.run([sys.executable, str(SCRIPT), "--lr", str(lr), "--max-steps", "300", "--logdir", str(run),
                    "--note", note], check=True)
    return run


def _verify(args, cwd: Path):
    """`advisor verify` run from a fresh folder under `cwd` (click's isolated_filesystem is
    deprecated), and any file a hostile value managed to create there."""
    import os
    import tempfile

    runner = CliRunner()
    here = os.getcwd()
    with tempfile.TemporaryDirectory(dir=cwd) as work:
        os.chdir(work)
        try:
            result = runner.invoke(main, ["verify", *args], catch_exceptions=False)
            pwned = list(Path(work).rglob("pwned"))
        finally:
            os.chdir(here)
    return result, pwned


def test_cmd_end_to_end_two_seeds_and_injection(tmp_path):
    run = _bad_run(tmp_path, 3.0, "$(touch pwned)")  # the loss explodes from the start; hparams in config.json
    work = tmp_path / "trials"
    result, pwned = _verify([str(run), "--cmd", TEMPLATE, "--seeds", "2", "--steps", "300",
                             "--workdir", str(work), "--jobs", "2", "--format", "json", "-q",
                             "--all-recommendations"], tmp_path)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["schema"] == "advisor.diagnosis/1"
    verifications = doc["runs"][0]["verification"]
    by_action = {v["action"]: v for v in verifications}
    lower = by_action["lower_lr"]
    assert lower["verdict"] == "confirmed", lower["notes"]
    assert lower["change"]["lr"]["from"] == 3.0 and lower["change"]["lr"]["set"] == 1.0
    assert all(v == "inf" or v > 1e6 for v in lower["baseline"])  # final/initial loss: exploded
    assert 1 <= len(lower["fix"]) == lower["seeds"] <= 2 and all(v < 1 for v in lower["fix"])
    assert lower["effect"]["problem_fix"] == 0 and lower["confidence"] >= 0.9
    # the original run is the seed-0 baseline: only fix arms (and extra seeds) were trained
    assert any("the original run itself" in n for n in lower["notes"])
    assert lower["compute"]["trial_steps"] == 300 * lower["compute"]["trials"]
    # a change the template cannot carry is not run (it would re-run the baseline)
    skipped = [v for v in verifications if v["action"] != "lower_lr"]
    assert skipped and all("placeholder" in v["notes"][0] for v in skipped)
    # the run's hparam `$(touch pwned)` reached every trial as one literal argument
    argvs = [json.loads(p.read_text()) for p in work.glob("*/argv.log")]
    assert len(argvs) == lower["compute"]["trials"] >= 1
    assert all(a[a.index("--note") + 1] == "$(touch pwned)" for a in argvs)
    assert not pwned and not list(tmp_path.rglob("pwned"))


def test_cmd_set_value_with_shell_syntax_and_a_refuted_fix(tmp_path):
    run = _bad_run(tmp_path, 10.0, "x")  # x0.33 -> lr 3, which still diverges: refuted
    work = tmp_path / "trials"
    result, pwned = _verify([str(run), "--cmd", TEMPLATE, "--seeds", "2", "--steps", "300", "--budget", "none",
                             "--set", "note=; rm -rf / #", "--workdir", str(work), "-q"], tmp_path)
    assert result.exit_code == 0, result.output
    assert "lower_lr (lr 10 -> 3)" in result.output
    assert "verdict: REFUTED" in result.output and "still diverges" in result.output
    # by default only the finding's first recommendation that can run is verified (the others the
    # template cannot carry are not listed; --all-recommendations lists them)
    assert result.output.count("verdict:") == 1
    argvs = [json.loads(p.read_text()) for p in work.glob("*/argv.log")]
    assert argvs and all(a[a.index("--note") + 1] == "; rm -rf / #" for a in argvs)
    assert not pwned


def test_entry_in_process_and_in_spawned_workers(tmp_path, monkeypatch):
    from advisor.verify.session import VerifyOptions, verify_findings

    monkeypatch.syspath_prepend(str(DATA))
    f = Finding(rule="DIV001", pattern="divergence", severity="error", metric="train/loss", start_step=None,
                end_step=None, summary="", recommendations=[Recommendation("lower_lr", {"lr": {"multiply": 0.33}}, "", "")])
    for jobs in (1, 2):
        opts = VerifyOptions(entry="entry_mod:train_quad", steps=60, seeds=2, jobs=jobs, device="cpu")
        v = verify_findings([f], {"lr": 3.0}, {}, opts)[0]
        assert v.verdict == "confirmed", v.notes
        assert v.change["lr"]["set"] == 1.0 and v.device == "cpu"
    crash = VerifyOptions(entry="entry_mod:train_crash", steps=10, seeds=2, device="cpu")
    v = verify_findings([f], {"lr": 3.0}, {}, crash)[0]
    assert v.verdict in ("inconclusive", "not-reproduced")
    assert any("CUDA out of memory (simulated)" in n for n in v.notes)


def test_entry_errors_are_one_line(monkeypatch):
    from advisor.verify.entry import EntryError, load_entry

    for bad in ("no_colon", "os:path.nope", "advisor.nonexistent_module:f", "x:__import__('os')"):
        with pytest.raises(EntryError):
            load_entry(bad)
    assert callable(load_entry("advisor.verify.lrfind:analyse_range_test"))


@pytest.mark.parametrize("args, message", [
    ([], "exactly one of"),
    (["run", "--cmd", "x", "--entry", "a:b"], "exactly one of"),
    (["--cmd", "python x.py"], "need the RUN"),
    (["run", "--builtin", "lr-diverges"], "takes no RUN"),
    (["--builtin", "nope"], "no built-in experiment"),
    (["--set", "bad", "--builtin", "lr-diverges"], "expected key=value"),
])
def test_usage_errors_exit_2(args, message):
    result = CliRunner().invoke(main, ["verify", *args])
    assert result.exit_code == 2
    assert message in result.output


def test_template_placeholder_the_run_lacks_is_a_usage_error(tmp_path):
    run = _bad_run(tmp_path, 5.0, "x")
    result = CliRunner().invoke(main, ["verify", str(run), "--cmd", "python t.py --wd {weight_decay}", "-q"])
    assert result.exit_code == 2 and "unknown placeholder {weight_decay}" in result.output


def test_list_builtin_experiments():
    result = CliRunner().invoke(main, ["verify", "--list"])
    assert result.exit_code == 0 and "wrong-fix" in result.output and "expect refuted" in result.output


def test_missing_torch_prints_the_install_hint(monkeypatch):
    import advisor.verify.cli as vcli

    monkeypatch.setattr(vcli, "torch_available", lambda: False)
    for args in (["verify", "--builtin", "lr-diverges"], ["verify", "run", "--entry", "a:b"],
                 ["lr-find", "--builtin", "digits-mlp"], ["demo"]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2, args
        assert "pip install 'advisor[verify]'" in result.output
        assert len(result.output.strip().splitlines()) == 1


def test_lr_find_on_a_range_test_log(tmp_path):
    import numpy as np

    lr = np.geomspace(1e-5, 10, 150)
    loss = 2.3 / (1 + (lr / 1e-2) ** 1.2) + 0.1 + np.where(lr > 1, (lr - 1) * 5, 0)
    d = tmp_path / "sweep"
    d.mkdir()
    (d / "metrics.csv").write_text("step,train_loss,lr\n" + "".join(f"{i},{float(v)!r},{float(r)!r}\n" for i, (v, r) in enumerate(zip(loss, lr))))
    result = CliRunner().invoke(main, ["lr-find", str(d), "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["informative"] and 1e-4 < doc["suggested_lr"] < 1


def test_cmd_verification_renders_in_markdown_and_html(tmp_path):
    run = _bad_run(tmp_path, 3.0, "x")
    common = [str(run), "--cmd", TEMPLATE, "--seeds", "2", "--steps", "300", "-q"]
    md, _ = _verify([*common, "--format", "markdown"], tmp_path)
    assert md.exit_code == 0 and "confirmed" in md.output
    page = tmp_path / "verify.html"
    html, _ = _verify([*common, "--format", "html", "-o", str(page)], tmp_path)
    assert html.exit_code == 0 and "confirmed" in page.read_text()
    no_out, _ = _verify([*common, "--format", "html"], tmp_path)
    assert no_out.exit_code == 2


def test_nothing_to_verify_is_said_plainly_and_exits_0(tmp_path):
    run = _bad_run(tmp_path, 5.0, "x")
    result, _ = _verify([str(run), "--cmd", TEMPLATE, "--rule", "XYZ999", "--format", "json"], tmp_path)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["runs"][0]["verification"] is None
    assert "no recommendation with a parameter change" in result.stderr


def test_a_value_that_would_inject_an_option_is_refused_before_anything_runs(tmp_path):
    run = _bad_run(tmp_path, 3.0, "x")
    work = tmp_path / "trials"
    result, _ = _verify([str(run), "--cmd", TEMPLATE, "--set", "note=--output=/etc/passwd", "--workdir", str(work),
                         "-q"], tmp_path)
    assert result.exit_code == 2
    msg = result.output.strip()
    assert len(msg.splitlines()) == 1
    assert "would start a new option" in msg and "--note={note}" in msg and "--allow-dash-values" in msg
    assert not work.exists() or not list(work.iterdir())  # nothing ran
    ok, _ = _verify([str(run), "--cmd", TEMPLATE.replace("--note {note}", "--note={note}"), "--set", "note=-rf",
                     "--seeds", "1", "--steps", "60", "--workdir", str(work), "-q"], tmp_path)
    assert ok.exit_code == 0, ok.output
    argvs = [json.loads(p.read_text()) for p in work.glob("*/argv.log")]
    assert argvs and all("--note=-rf" in a for a in argvs)


def test_a_session_in_which_every_trial_fails_exits_2_with_the_first_error(tmp_path):
    run = _bad_run(tmp_path, 3.0, "x")
    bad_template = TEMPLATE + " --no-such-option 1"  # argparse rejects every trial
    result, _ = _verify([str(run), "--cmd", bad_template, "--seeds", "2", "--steps", "60", "--format", "json"],
                        tmp_path)
    assert result.exit_code == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("advisor: every trial failed") and "unrecognized arguments: --no-such-option 1" in last
    doc = json.loads(result.stdout)  # the report is still written
    v = doc["runs"][0]["verification"][0]
    assert v["compute"]["failed_trials"] == v["compute"]["trials"] > 0


@pytest.mark.slow
@pytest.mark.trains
def test_the_readme_cmd_example_works_verbatim_with_an_argparse_script(tmp_path, monkeypatch):
    """README's `advisor verify runs/exp3 --cmd '...'` line, taken from the README itself, against an
    ordinary argparse script (type=int/float, store_true, choices) logging to TensorBoard with
    the hparams plugin, which hands every number back as a double (batch_size 32.0)."""
    import os
    import re
    import shutil

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    m = re.search(r"^advisor verify (runs/exp3) --cmd '([^']+)'", readme, re.M)
    assert m, "the README's --cmd example is gone"
    run_dir, template = m.group(1), m.group(2)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    shutil.copy(DATA / "argparse_train.py", tmp_path / "train.py")
    subprocess.run(["python", "train.py", "--lr", "3", "--max-steps", "300", "--logdir", run_dir], check=True,
                   capture_output=True)
    result = CliRunner().invoke(main, ["verify", run_dir, "--cmd", template, "--format", "json",
                                       "--workdir", "trials"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    (lower,) = [v for v in doc["runs"][0]["verification"] if v["action"] == "lower_lr"]
    assert lower["verdict"] == "confirmed", lower["notes"]
    assert lower["change"]["lr"] == {"multiply": 0.33, "from": 3, "set": 1}
    argvs = [json.loads(p.read_text()) for p in Path("trials").glob("*/argv.json")]
    assert argvs and all(a[a.index("--batch-size") + 1] == "32" for a in argvs)
    assert {a[a.index("--lr") + 1] for a in argvs} <= {"3", "1"}
    assert not any("failed" in n for n in lower["notes"])


def test_try_tests_the_users_own_change_and_budget_is_parsed(tmp_path):
    run = _bad_run(tmp_path, 3.0, "x")
    result, _ = _verify([str(run), "--cmd", TEMPLATE, "--try", "lr=0.3", "--try", "lr=0.1,batch_size=64",
                         "--only-try", "--budget", "0.5x", "--format", "json", "-q"], tmp_path)
    assert result.exit_code == 0, result.output
    vs = json.loads(result.stdout)["runs"][0]["verification"]
    assert [v["action"] for v in vs] == ["try", "try"]
    assert vs[0]["change"] == {"lr": {"set": 0.3, "from": 3}}
    assert vs[1]["change"]["batch_size"] == {"set": 64, "from": 32}
    assert all(v["compute"]["trial_steps"] <= 0.5 * v["compute"]["original_steps"] for v in vs)
    for bad in (["--budget", "cheap"], ["--only-try"], ["--try", "lr"]):
        r = CliRunner().invoke(main, ["verify", str(run), "--cmd", TEMPLATE, *bad])
        assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1, r.output


@pytest.mark.trains
def test_a_slow_run_one_rung_up_is_confirmed_by_how_far_its_loss_fell(tmp_path):
    """An ordinary epoch-loop script (tests/data/verify/epochs_train.py: digits, SGD 3e-3, 20 epochs,
    no hparams logged) whose loss fell 2.30 -> 2.19: one rung up (LR 0.01) it ends at 1.78, x0.81 of the
    baseline's final loss, under the 20% a final level asks, in every seed. It fell 4.5x as far from its
    start, which is what a slow run's fix changes: confirmed (it was inconclusive, and after one seed the
    default budget was spent)."""
    script = DATA / "epochs_train.py"
    run = tmp_path / "slow"
    subprocess.run([sys.executable, str(script), "--lr", "0.003", "--epochs", "20", "--log-dir", str(run)],
                   check=True, capture_output=True)
    template = (f"{shlex.quote(sys.executable)} {shlex.quote(str(script))} --lr {{lr}} --epochs {{epochs}} "
                "--seed {seed} --log-dir {logdir}")
    result, _ = _verify([str(run), "--cmd", template, "--set", "lr=0.003", "--set", "epochs=20",
                         "--format", "json", "-q"], tmp_path)
    assert result.exit_code == 0, result.output
    (v,) = [v for v in json.loads(result.stdout)["runs"][0]["verification"] if v["action"] == "raise_lr"]
    assert v["verdict"] == "confirmed", v
    assert v["effect"]["ratio"] > 0.8  # the final level alone would not have confirmed it
    assert v["effect"]["progress_ratio"] > 2.5
    assert v["compute"]["trial_steps"] <= 1.5 * v["compute"]["original_steps"]
