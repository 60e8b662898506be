"""Values survive the round trip log -> template -> script: integral numbers without a decimal
point, booleans the way the script reads them (read from its --help), values outside a script's
choices reported before anything runs, and option injection through a whole-token placeholder
refused."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from advisor.model import Run, Series
from advisor.verify.cmdplan import build_rules, unacceptable
from advisor.verify.script_help import help_argv, parse_help, read_script_options
from advisor.verify.template import (
    ArgRules, TemplateError, format_value, option_of, parse_bool_styles, parse_value_maps, render_argv,
)
from advisor.verify.trial import baseline_config

DATA = Path(__file__).resolve().parent / "data" / "verify"
SCRIPT = DATA / "argparse_train.py"
TEMPLATE = ("python train.py --lr {lr} --batch-size {batch_size} --hidden {hidden} --dropout {dropout} "
            "--batchnorm {batchnorm} --optimizer {optimizer} --shuffle {shuffle} --max-steps {max_steps}")


def _argparse_help() -> str:
    # the real script's help page: argparse prints it before the script imports torch
    return subprocess.run([sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, check=True).stdout


def test_integral_numbers_render_without_a_decimal_point():
    # the TensorBoard hparams plugin stores every number as a double: 32 comes back as 32.0
    assert [format_value(v) for v in (32.0, 0.0, -3.0, 1e-4, 0.03, 3, 2.5e-7)] == \
        ["32", "0", "-3", "0.0001", "0.03", "3", "2.5e-07"]
    assert format_value(1e300) == repr(1e300)  # beyond exact integers: not a made-up digit string


def test_hparams_read_back_as_doubles_become_ints_in_the_baseline():
    run = Run(name="r", path="r", format="tensorboard",
              hparams={"batch_size": 32.0, "hidden": 64.0, "lr": 3.0, "dropout": 0.0, "optimizer": "sgd"},
              series={"train/loss": Series("train/loss", [0, 1, 2], [1.0, 0.9, 0.8], None)})
    config, _ = baseline_config(run, {})
    assert config["batch_size"] == 32 and isinstance(config["batch_size"], int)
    argv = render_argv("p --batch-size {batch_size} --hidden {hidden} --lr {lr} --dropout {dropout}", config)
    assert argv == ["p", "--batch-size", "32", "--hidden", "64", "--lr", "3", "--dropout", "0"]


def test_argparse_help_gives_flags_choices_and_values():
    opts = parse_help(_argparse_help())
    assert opts.source == "argparse"
    assert opts.get("--batchnorm").flag and not opts.get("--lr").flag
    assert opts.get("--optimizer").choices == ["sgd", "momentum", "adam"]
    assert opts.get("--shuffle").choices == ["0", "1"]


def test_click_help_gives_types_choices_and_boolean_pairs():
    @click.command()
    @click.option("--lr", type=float)
    @click.option("--batch-size", type=int)
    @click.option("--optimizer", type=click.Choice(["sgd", "adam"]))
    @click.option("--shuffle/--no-shuffle", default=True)
    @click.option("--batchnorm", is_flag=True)
    def train(lr, batch_size, optimizer, shuffle, batchnorm):
        pass

    opts = parse_help(CliRunner().invoke(train, ["--help"]).output)
    assert opts.source == "click"
    assert opts.get("--batch-size").kind == "int" and opts.get("--lr").kind == "float"
    assert opts.get("--optimizer").choices == ["sgd", "adam"]
    assert opts.get("--shuffle").flag and opts.get("--shuffle").negated == "--no-shuffle"
    assert opts.get("--no-shuffle") is opts.get("--shuffle")
    assert opts.get("--batchnorm").flag


def test_booleans_render_as_the_script_expects():
    opts = parse_help(_argparse_help())
    # what the run recorded (torch's hparams plugin stores a bool as 0.0): batchnorm off, shuffle on
    config = {"lr": 3, "batch_size": 32, "hidden": 64, "dropout": 0, "batchnorm": 0, "optimizer": "sgd",
              "shuffle": 1, "max_steps": 10}
    rules = build_rules(TEMPLATE, config, {"batchnorm": [True], "shuffle": [False]}, opts)
    assert rules.bools == {"batchnorm": "flag", "shuffle": "1"}
    base = render_argv(TEMPLATE, config, rules)
    assert "--batchnorm" not in base and base[base.index("--shuffle") + 1] == "1"
    fix = render_argv(TEMPLATE, {**config, "batchnorm": True, "shuffle": False}, rules)
    assert fix[fix.index("--batchnorm") + 1] == "--optimizer"  # a flag, not a flag with a value
    assert fix[fix.index("--shuffle") + 1] == "0"
    # and the script really accepts both
    for argv in (base, fix):
        parsed = subprocess.run([sys.executable, "-c", _PARSE_ONLY, *argv[2:], "--logdir", "x"], capture_output=True, text=True)
        assert parsed.returncode == 0, parsed.stderr


_PARSE_ONLY = (f"import sys; sys.argv[0] = 'train.py'; src = open({str(SCRIPT)!r}).read(); "
               "src = src.replace('a = p.parse_args(argv)', 'a = p.parse_args(argv); raise SystemExit(0)'); "
               "exec(compile(src, 'train.py', 'exec'))")


def test_bool_styles_given_by_hand_and_from_the_run():
    rules = ArgRules(bools=parse_bool_styles(["amp=flag", "shuffle=True", "bn=yes"]))
    assert render_argv("p {amp} --shuffle {shuffle} --bn={bn}", {"amp": True, "shuffle": False, "bn": True}, rules) == \
        ["p", "--amp", "--shuffle", "False", "--bn=yes"]
    assert render_argv("p {amp} x", {"amp": False}, rules) == ["p", "x"]
    with pytest.raises(TemplateError):
        parse_bool_styles(["amp=on"])
    # the run recorded the key as 1/0: a change to True renders as 1
    rules = build_rules("p --shuffle {shuffle}", {"shuffle": 1}, {"shuffle": [False]}, parse_help(""))
    assert render_argv("p --shuffle {shuffle}", {"shuffle": False}, rules) == ["p", "--shuffle", "0"]


def test_values_outside_the_scripts_choices_are_reported_and_can_be_mapped():
    opts = parse_help(_argparse_help())
    tpl = "python train.py --optimizer {optimizer}"
    rules = build_rules(tpl, {"optimizer": "sgd"}, {}, opts)
    why = unacceptable(tpl, "optimizer", "sgd_momentum", opts, rules)
    assert "--optimizer {sgd,momentum,adam}" in why and "--value optimizer.sgd_momentum=" in why
    mapped = build_rules(tpl, {"optimizer": "sgd"}, {}, opts, values=parse_value_maps(["optimizer.sgd_momentum=momentum"]))
    assert unacceptable(tpl, "optimizer", "sgd_momentum", opts, mapped) is None
    assert render_argv(tpl, {"optimizer": "sgd_momentum"}, mapped)[-1] == "momentum"
    with pytest.raises(TemplateError):
        parse_value_maps(["optimizer=momentum"])


@pytest.mark.parametrize("template, value", [
    ("p --optimizer {optimizer}", "-rf"),
    ("p {optimizer}", "--output=/etc/passwd"),
    ("p --optimizer {optimizer}", "--output=/etc/passwd"),
])
def test_a_value_that_would_start_a_new_option_is_refused(template, value):
    with pytest.raises(TemplateError) as err:
        render_argv(template, {"optimizer": value})
    msg = str(err.value)
    assert "would start a new option" in msg and "--allow-dash-values" in msg and "--optimizer={optimizer}" in msg
    assert "\n" not in msg
    assert render_argv(template, {"optimizer": value}, ArgRules(allow_dash=True))[-1] == value


def test_dash_values_that_stay_values_pass():
    assert render_argv("p --optimizer={optimizer} --wd {wd} --x {x}", {"optimizer": "-rf", "wd": -0.5, "x": "-1e-3"}) == \
        ["p", "--optimizer=-rf", "--wd", "-0.5", "--x", "-1e-3"]


def test_option_of_and_help_argv():
    tokens = ["python", "-u", "train.py", "--lr", "{lr}", "--bs={batch_size}", "{flag}"]
    assert option_of(tokens, "lr") == ("--lr", True)
    assert option_of(tokens, "batch_size") == ("--bs", False)
    assert option_of(tokens, "flag") == (None, True)
    assert help_argv(tokens) == ["python", "-u", "train.py", "--help"]


def test_a_script_without_help_gives_no_options(tmp_path):
    opts, why = read_script_options(["/nonexistent/binary", "--lr", "{lr}"])
    assert not opts.options and "could not run" in why
    opts, why = read_script_options([sys.executable, "-c", "pass"])
    assert not opts.options and "no option list" in why
