"""`advisor verify` against ordinary training scripts and trainers: argparse subcommands, nargs,
store_true / BooleanOptionalAction flags, float choices and options whose default is None (the
script `tests/data/verify/argparse_subcmd.py`), and `--value` maps on `--entry` trainers."""
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
from advisor.verify.cmdplan import build_rules, unacceptable
from advisor.verify.script_help import parse_help
from advisor.verify.template import ArgRules, render_argv

DATA = Path(__file__).resolve().parent / "data" / "verify"
SCRIPT = DATA / "argparse_subcmd.py"
TEMPLATE = (f"{shlex.quote(sys.executable)} {shlex.quote(str(SCRIPT))} fit --lr {{lr}} --batch-size {{batch_size}} "
            "--max-steps {max_steps} --seed {seed} --logdir {logdir} --hidden-sizes {hidden_sizes} --clip {clip} "
            "--nesterov {nesterov} --shuffle {shuffle} --schedule {schedule} --decay {decay}")


def _verified(run: Path, template: str, work: Path) -> tuple[dict, list[list[str]]]:
    """`advisor verify RUN --cmd TEMPLATE --seeds 2` as JSON: its one verification and every
    trial's argv (the scripts here write theirs to `<logdir>/argv.log`)."""
    result = CliRunner().invoke(main, ["verify", str(run), "--cmd", template, "--seeds", "2", "--workdir", str(work),
                                       "--format", "json", "-q"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    (v,) = json.loads(result.output)["runs"][0]["verification"]
    return v, [json.loads(p.read_text()) for p in work.glob("*/argv.log")]


def _help() -> str:
    return subprocess.run([sys.executable, str(SCRIPT), "fit", "--help"], capture_output=True, text=True,
                          check=True).stdout


def test_subcommand_help_is_read_past_its_wrapped_usage_lines():
    script = parse_help(_help())
    # "--max-steps MAX_STEPS [--seed SEED] --logdir" is a wrapped usage line, not the option's entry
    assert script.get("--max-steps").choices is None and not script.get("--max-steps").flag
    assert script.get("--hidden-sizes").multi and not script.get("--lr").multi
    assert script.get("--nesterov").flag and script.get("--shuffle").negated == "--no-shuffle"
    assert script.get("--decay").choices == ["0.5", "1.0"]


def test_lists_nones_and_float_choices_render_as_argparse_reads_them():
    rules = build_rules(TEMPLATE, {"nesterov": False, "shuffle": True}, {}, parse_help(_help()))
    values = {"lr": 0.1, "batch_size": 32, "max_steps": 10, "seed": 0, "logdir": "L", "hidden_sizes": [64, 32.0],
              "clip": None, "nesterov": False, "shuffle": True, "schedule": "cosine", "decay": 1.0}
    argv = render_argv(TEMPLATE, values, rules)
    assert argv[argv.index("--hidden-sizes") + 1:argv.index("--hidden-sizes") + 3] == ["64", "32"]
    assert "--clip" not in argv and "--nesterov" not in argv and "--shuffle" in argv
    # the TensorBoard hparams plugin stores a list as its text; the help says the option takes several
    argv = render_argv(TEMPLATE, {**values, "hidden_sizes": "[16, 8]"}, rules)
    assert argv[argv.index("--hidden-sizes") + 1:argv.index("--hidden-sizes") + 3] == ["16", "8"]
    # ... but text is never re-read for an option that takes one value
    assert render_argv("s --name {n}", {"n": "[1, 2]"}, ArgRules()) == ["s", "--name", "[1, 2]"]
    # a bare {x} with no value leaves no empty argument behind
    assert render_argv("s {x} --y 1", {"x": None}, ArgRules()) == ["s", "--y", "1"]
    # argparse compares converted values: 1 is the choice 1.0 of a type=float option
    script = parse_help(_help())
    assert unacceptable(TEMPLATE, "decay", 1.0, script, rules) is None
    assert "not among them" in unacceptable(TEMPLATE, "decay", 0.25, script, rules)


@pytest.mark.trains
def test_an_ordinary_argparse_script_is_verified_end_to_end(tmp_path):
    """Every option kind at once: before the fix the list reached the script as '[8, 8]' and
    every trial died of `invalid int value`."""
    run = tmp_path / "run"
    subprocess.run([sys.executable, str(SCRIPT), "fit", "--lr", "3", "--max-steps", "300", "--logdir", str(run)],
                   check=True)
    work = tmp_path / "trials"
    result = CliRunner().invoke(main, ["verify", str(run), "--cmd", TEMPLATE, "--seeds", "2", "--workdir", str(work),
                                       "--format", "json", "-q"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    (v,) = json.loads(result.output)["runs"][0]["verification"]
    assert v["action"] == "lower_lr" and v["verdict"] == "confirmed", v["notes"]
    assert v["compute"]["failed_trials"] == 0 and v["compute"]["ratio"] <= 0.5
    argvs = [json.loads(p.read_text()) for p in work.glob("*/argv.log")]
    assert argvs and all(a[0] == "fit" for a in argvs)
    for a in argvs:
        i = a.index("--hidden-sizes")
        assert a[i + 1:i + 3] == ["8", "8"] and "--clip" not in a and "--nesterov" not in a
        assert "--shuffle" in a and a[a.index("--decay") + 1] == "1"


@pytest.mark.trains
def test_a_script_that_counts_in_epochs_gets_a_budget_in_epochs(tmp_path):
    """`--epochs {epochs}` and no `{max_steps}`: the trial's length used to be the run's full 20
    epochs while the compute said 45 steps, and its whole log was judged against the baseline cut
    at 45. Now it gets the same share in whole epochs, its log is cut to the budget, and the
    compute counts what it trained."""
    run = tmp_path / "run"
    subprocess.run([sys.executable, str(SCRIPT), "fit", "--lr", "3", "--epochs", "20", "--logdir", str(run)],
                   check=True)
    template = f"{shlex.quote(sys.executable)} {shlex.quote(str(SCRIPT))} fit --lr {{lr}} --epochs {{epochs}} " \
               "--seed {seed} --logdir {logdir}"
    v, argvs = _verified(run, template, tmp_path / "trials")
    assert v["action"] == "lower_lr" and v["verdict"] == "confirmed", v["notes"]
    budget = v["steps"]
    epochs = {int(a[a.index("--epochs") + 1]) for a in argvs}
    assert epochs == {-(-budget * 20 // 299)} and max(epochs) < 20
    # counted as trained (whole epochs), not as the budget
    assert v["compute"]["trial_steps"] == v["compute"]["trials"] * (max(epochs) * 15 - 1)


def test_a_script_that_only_prints_is_verified_from_its_output(tmp_path):
    """An ordinary script with no log file and no --logdir (print_script.py prints as pytorch/examples' mnist:
    `Train Epoch: 1 [160/2000 (8%)]\tLoss: ...` and `Test set: Average loss: ...`): the user saved its output
    (`python print_script.py --lr 0.9 > run.log`) and verifies with a template that has no {logdir}. Each
    trial's own output is its log: the stall at LR 0.9 is verified and LR 0.3 confirmed. Before, every trial
    failed with "no readable logs" and the session exited 2."""
    script = Path(__file__).resolve().parent / "data" / "verify" / "print_script.py"
    printed = subprocess.run([sys.executable, str(script), "--lr", "0.9", "--epochs", "3"], check=True,
                             capture_output=True, text=True).stdout
    (tmp_path / "run.log").write_text(printed)
    template = f"{shlex.quote(sys.executable)} {shlex.quote(str(script))} --lr {{lr}} --epochs {{epochs}} --seed {{seed}}"
    result = CliRunner().invoke(main, ["verify", str(tmp_path / "run.log"), "--cmd", template, "--set", "lr=0.9",
                                       "--set", "epochs=3", "--seeds", "2", "--workdir", str(tmp_path / "trials"),
                                       "--format", "json", "-q"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    (v,) = json.loads(result.output)["runs"][0]["verification"]
    assert (v["action"], v["verdict"]) == ("lower_lr", "confirmed"), v["notes"]
    assert v["compute"]["failed_trials"] == 0 and len(v["fix"]) == 2
    assert list((tmp_path / "trials").glob("*.out.txt"))  # the trials' outputs, read as their logs


def test_a_printed_namespace_gives_the_trials_their_values(tmp_path):
    """The same script run with --print-args prints its argparse Namespace first (`Namespace(lr=0.9,
    batch_size=32, epochs=3, ...)`): the console reader takes its literals as the run's hyperparameters, so
    {lr} and {epochs} are filled from the log itself, with no --set, and the rules know the LR."""
    script = Path(__file__).resolve().parent / "data" / "verify" / "print_script.py"
    printed = subprocess.run([sys.executable, str(script), "--lr", "0.9", "--epochs", "3", "--print-args"],
                             check=True, capture_output=True, text=True).stdout
    (tmp_path / "run.log").write_text(printed)
    template = f"{shlex.quote(sys.executable)} {shlex.quote(str(script))} --lr {{lr}} --epochs {{epochs}} --seed {{seed}}"
    result = CliRunner().invoke(main, ["verify", str(tmp_path / "run.log"), "--cmd", template, "--seeds", "2",
                                       "--workdir", str(tmp_path / "trials"), "--format", "json", "-q"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    (v,) = json.loads(result.output)["runs"][0]["verification"]
    assert v["change"]["lr"]["from"] == 0.9 and v["verdict"] == "confirmed", v


def _finding(*recs: Recommendation) -> Finding:
    return Finding(rule="PLT001", pattern="plateau", severity="warning", metric="train/loss", start_step=None,
                   end_step=None, summary="", recommendations=list(recs))


@pytest.mark.trains
def test_value_maps_reach_entry_trainers(monkeypatch):
    """`--value optimizer.sgd_momentum=momentum` used to apply to --cmd templates only: the entry
    got "sgd_momentum", rejected it, and every trial failed."""
    from advisor.verify.session import VerifyOptions, verify_findings

    monkeypatch.syspath_prepend(str(DATA))
    f = _finding(Recommendation("change_optimizer", {"optimizer": {"set": "sgd_momentum"}}, "", ""))
    config = {"lr": 0.1, "optimizer": "sgd"}
    plain = VerifyOptions(entry="entry_mod:train_quad_opt", steps=40, seeds=1, device="cpu")
    (v,) = verify_findings([f], config, {}, plain)
    assert v.verdict == "inconclusive" and any("not 'sgd_momentum'" in n for n in v.notes), v.notes
    mapped = VerifyOptions(entry="entry_mod:train_quad_opt", steps=40, seeds=1, device="cpu",
                           value_maps={"optimizer": {"sgd_momentum": "momentum"}})
    (v,) = verify_findings([f], config, {}, mapped)
    assert v.compute["failed_trials"] == 0 and v.seeds == 1, v.notes  # the trainer took "momentum"
    assert v.change["optimizer"]["set"] == "sgd_momentum"  # reported in the rule's words


def test_a_mapped_change_that_equals_the_baseline_is_not_run(monkeypatch):
    from advisor.verify.session import VerifyOptions, verify_findings

    monkeypatch.syspath_prepend(str(DATA))
    f = _finding(Recommendation("change_optimizer", {"optimizer": {"set": "sgd_momentum"}}, "", ""))
    opts = VerifyOptions(entry="entry_mod:train_quad_opt", steps=40, seeds=1, device="cpu",
                         value_maps={"optimizer": {"sgd_momentum": "momentum"}})
    (v,) = verify_findings([f], {"lr": 0.1, "optimizer": "momentum"}, {}, opts)
    assert v.seeds == 0 and "leaves the configuration as it is" in v.notes[0] and v.compute["trials"] == 0


def test_value_maps_are_checked_against_the_builtin_trainer():
    from advisor.verify.session import VerifyOptions, _check_builtin_options
    from advisor.verify.trial import plan_arms

    f = _finding(Recommendation("change_optimizer", {"optimizer": {"set": "sgd_momentum"}}, "", ""))
    config = {"task": "moons-mlp", "lr": 0.1, "optimizer": "sgd"}
    for maps, runs in (({}, False), ({"optimizer": {"sgd_momentum": "momentum"}}, True)):
        arms = plan_arms([f], config, {}, 50)
        _check_builtin_options(arms, VerifyOptions(value_maps=maps))
        assert (arms[0].skip is None) == runs, arms[0].skip


def test_only_the_first_recommendation_that_can_run_is_verified_by_default(monkeypatch):
    """Compute: a finding's 3-5 recommendations each cost a trial; by default the first one the
    trainer can take is verified (here the second: the first is outside the trainer's options)."""
    from advisor.verify.session import VerifyOptions, verify_findings

    monkeypatch.syspath_prepend(str(DATA))
    f = _finding(Recommendation("change_optimizer", {"optimizer": {"set": "adamw"}}, "", ""),
                 Recommendation("lower_lr", {"lr": {"multiply": 0.33}}, "", ""),
                 Recommendation("raise_lr", {"lr": {"multiply": 3.0}}, "", ""))
    config = {"lr": 3.0, "optimizer": "sgd", "task": "moons-mlp"}
    opts = VerifyOptions(steps=40, seeds=1, device="cpu", entry="entry_mod:train_quad_opt")
    out = verify_findings([f], config, {}, opts)
    # entry_mod has no option check, so adamw is tried and fails; with the built-in trainer's check
    # it is skipped before anything runs
    assert [v.action for v in out] == ["change_optimizer"]
    every = verify_findings([f], config, {}, VerifyOptions(steps=40, seeds=1, device="cpu",
                                                           entry="entry_mod:train_quad_opt", all_recommendations=True))
    assert [v.action for v in every] == ["change_optimizer", "lower_lr", "raise_lr"]


def test_an_lr_logged_only_as_a_column_fills_the_lr_placeholder(tmp_path):
    """A script that writes its LR only as a logged column (no config, no hparams): the advice
    `lr 3 -> 1` was computed from that column, yet `--cmd '... --lr {lr}'` used to stop with
    'unknown placeholder {lr}'. The trials now start from the logged LR, and lowering it holds."""
    script = DATA / "scalar_lr_script.py"
    run = tmp_path / "run"
    subprocess.run([sys.executable, str(script), "--lr", "3", "--logdir", str(run)], check=True)
    template = f"{shlex.quote(sys.executable)} {shlex.quote(str(script))} --lr {{lr}} --max-steps {{max_steps}} " \
               "--seed {seed} --logdir {logdir}"
    v, argvs = _verified(run, template, tmp_path / "trials")
    assert v["action"] == "lower_lr" and v["verdict"] == "confirmed", v["notes"]
    lrs = {a[a.index("--lr") + 1] for a in argvs}
    assert lrs == {"1"} or lrs == {"1", "3"}, lrs


@pytest.mark.parametrize("extra, placeholder", [
    ([], "{epochs}"),  # the epoch count read off the log's `epoch` column (no hparams at all)
    (["--record-config"], "{max_epochs}"),  # the count under the name the run's config.json records
])
def test_a_length_in_epochs_gets_the_trial_share_of_the_logged_epochs(tmp_path, extra, placeholder):
    """Two ways a script's epochs reach a trial, both of which failed. `--epochs {epochs}` on a run
    whose only record of its length is an `epoch` column (a Lightning or Keras CSV, no hparams)
    stopped with 'unknown placeholder {epochs}'. `--epochs {max_epochs}` (the name Lightning's and
    HF's configs record: max_epochs, num_train_epochs) rendered the run's full 30 epochs in every
    trial, whatever the budget. Both now give a trial of `budget` steps the same share of 30."""
    script = DATA / "scalar_lr_script.py"
    run = tmp_path / "run"
    subprocess.run([sys.executable, str(script), "--lr", "3", "--epochs", "30", *extra, "--logdir", str(run)],
                   check=True)
    template = f"{shlex.quote(sys.executable)} {shlex.quote(str(script))} --lr {{lr}} --epochs {placeholder} " \
               "--seed {seed} --logdir {logdir}"
    v, argvs = _verified(run, template, tmp_path / "trials")
    assert v["action"] == "lower_lr" and v["verdict"] == "confirmed", v["notes"]
    epochs = {int(a[a.index("--epochs") + 1]) for a in argvs}
    assert epochs == {-(-v["steps"] * 30 // 299)} and max(epochs) < 30, epochs


@pytest.mark.parametrize("path, epochs", [
    ("csv/lightning", 2),  # Lightning CSVLogger: an `epoch` column 0, 0, ..., 1
    ("csv/keras", 4),  # Keras CSVLogger: the x axis is the 0-based epoch, 0..3
    ("csv/fastai", 3),  # fastai CSVLogger: likewise, 0..2
])
def test_logged_epochs_reads_the_epoch_count_of_real_writers(path, epochs):
    from advisor.pipeline import diagnose_paths
    from advisor.verify.trial import logged_epochs

    (report,) = diagnose_paths([str(Path(__file__).resolve().parents[1] / "fixtures" / path)]).runs
    assert logged_epochs(report.curves) == epochs


@pytest.mark.parametrize("path, epochs", [
    # (the manifest's count of each run's epochs; the first two record no epoch count in hparams)
    ("csv/lightning-csv-probing-v0", 20),  # Trainer(max_epochs=20), Lightning CSVLogger
    ("tensorboard/keras-tf2-reuters-mod1", 20),  # Keras TensorBoard callback: epoch_loss at x = epoch
    ("tensorboard/lightning-tb-memorization-overfit", 100),  # Lightning TensorBoardLogger's `epoch` tag
    ("tensorboard/yolov5-tb-exp3-healthy", 150),  # one point per epoch, step = epoch
])
def test_logged_epochs_on_real_logs(real_logs, path, epochs):
    from advisor.pipeline import diagnose_paths
    from advisor.verify.trial import logged_config

    (report,) = diagnose_paths([str(real_logs / path)]).runs
    assert "epochs" not in report.curves.hparams
    assert logged_config(report.curves)["epochs"] == epochs


def test_a_template_without_a_length_is_told_that_trials_run_full_length(tmp_path):
    """No {max_steps} and no {epochs}: each trial runs the script's own length whatever its budget,
    and the session says so once, naming the length option the script's --help lists."""
    script = DATA / "scalar_lr_script.py"
    run = tmp_path / "run"
    subprocess.run([sys.executable, str(script), "--lr", "3", "--max-steps", "120", "--logdir", str(run)], check=True)
    template = f"{shlex.quote(sys.executable)} {shlex.quote(str(script))} --lr {{lr}} --seed {{seed}} --logdir {{logdir}}"
    result = CliRunner().invoke(main, ["verify", str(run), "--cmd", template, "--seeds", "1",
                                       "--workdir", str(tmp_path / "trials")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    said = [line for line in result.stderr.splitlines() if "every trial runs the script's own length" in line]
    assert len(said) == 1 and "its --help lists --max-steps" in said[0], result.stderr
    with_length = CliRunner().invoke(main, ["verify", str(run), "--cmd", template + " --max-steps {max_steps}",
                                            "--seeds", "1", "--workdir", str(tmp_path / "trials2")],
                                     catch_exceptions=False)
    assert "own length" not in with_length.stderr
