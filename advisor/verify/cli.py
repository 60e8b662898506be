"""`advisor verify`, `advisor lr-find` and `advisor demo`: thin click commands over advisor.verify.

Registered by advisor.cli through `register(main)`; command bodies import their modules lazily so
`advisor --help` stays fast and works without torch. Results go to stdout (or -o), progress to
stderr. Exit codes: 0 done, 1 a built-in experiment's verdict differs from the one the seeds
predict, 2 usage error (including torch missing where it is needed).
"""
from __future__ import annotations

import importlib.util
import json
import sys
import time

import click

from advisor.terminal import sanitize, say

EXIT_OK, EXIT_MISMATCH, EXIT_USAGE = 0, 1, 2
TORCH_HINT = "this needs torch and scikit-learn: pip install 'advisor[verify]'"


def torch_available() -> bool:
    return importlib.util.find_spec("torch") is not None


def _need_torch() -> None:
    if not torch_available():
        say(f"advisor: {TORCH_HINT}")
        sys.exit(EXIT_USAGE)


def _fail(message: str) -> None:
    say(f"advisor: {message}")
    sys.exit(EXIT_USAGE)


def _say(quiet: bool):
    return (lambda _m: None) if quiet else say


def _write(text: str, output: str | None) -> None:
    from advisor.cli import write_output

    write_output(text, output)


def register(main: click.Group) -> None:
    main.add_command(verify_cmd)
    main.add_command(lr_find_cmd)
    main.add_command(demo_cmd)


# ----------------------------------------------------------------------------- verify


@click.command("verify")
@click.argument("run", required=False, type=click.Path())
@click.option("--cmd", "cmd", help="command template, e.g. 'python train.py --lr {lr} --seed {seed} --logdir {logdir}'; "
              "placeholders {lr} {batch_size} {max_steps} {seed} {logdir} {device} {gpu} and any hparam of the run, "
              "substituted per argument after shlex.split, never through a shell")
@click.option("--entry", help="in-process entry point pkg.module:function(config, steps, seed, log, device)")
@click.option("--builtin", help="a built-in reference experiment (see --list), or 'all'")
@click.option("--list", "list_", is_flag=True, help="list the built-in experiments")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="baseline hyperparameter (repeatable)")
@click.option("--rule", "rules", multiple=True, help="verify only this rule's recommendations (repeatable)")
@click.option("--steps", type=click.IntRange(1),
              help="trial budget [default: past the step from which the finding's own criterion holds on the "
                   "original run, x1.5 (x3 for oscillation)]")
@click.option("--seeds", type=click.IntRange(1), default=3, show_default=True,
              help="the most seeds per arm; seeds are added one round at a time until the verdict is clear")
@click.option("--confidence", type=click.FloatRange(0.5, 1.0, max_open=True), default=0.9, show_default=True,
              help="stop adding seeds once the verdict is this sure")
@click.option("--budget", "budget", default="1.5x", show_default=True, metavar="Nx",
              help="compute cap: the most trial steps, as a multiple of the original run's steps (e.g. 0.25x); "
                   "'none' for no cap")
@click.option("--try", "tries", multiple=True, metavar="KEY=VALUE",
              help="test your own candidate change beside the rules' recommendations (repeatable; "
                   "comma-separate to change several keys in one arm: --try lr=0.01,batch_size=128)")
@click.option("--only-try", is_flag=True, help="test only the --try changes, not the rules' recommendations")
@click.option("--include-info", is_flag=True, help="verify info-level findings too")
@click.option("--all-recommendations", "all_recommendations", is_flag=True,
              help="verify every recommendation of a finding [default: only the first one the script can take]")
@click.option("--no-reuse", is_flag=True,
              help="train the seed-0 baseline instead of reusing the original run's log (when the template does "
                   "not reproduce how the original was run)")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), help="seconds per trial (--cmd)")
@click.option("--jobs", type=click.IntRange(1), default=1, show_default=True, help="trials at once (one per GPU)")
@click.option("--executor", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="where --entry/--builtin trials run: local processes, or a Ray cluster (one GPU per trial on cuda)")
@click.option("--address", default=None, help="Ray cluster address for --executor ray (default: start a local one)")
@click.option("--device", default="auto", show_default=True, help="auto | cpu | cuda | cuda:N")
@click.option("--workdir", type=click.Path(file_okay=False), help="where --cmd trials write their {logdir}s")
@click.option("--bool", "bools", multiple=True, metavar="KEY=STYLE",
              help="how a boolean reaches the script: true (true/false), True, 1 (1/0), yes, or flag (a bare {key} "
                   "token becomes --key when true, nothing when false) [default: from the script's --help, "
                   "else as the run recorded it]")
@click.option("--value", "value_maps", multiple=True, metavar="KEY.VALUE=TEXT",
              help="spell a value the script's way, e.g. optimizer.sgd_momentum=momentum (repeatable)")
@click.option("--allow-dash-values", is_flag=True,
              help="let a value that starts with '-' fill a whole-token placeholder (by default refused: it would "
                   "become a new option of the script)")
@click.option("--no-help", "no_help", is_flag=True, help="do not run the script's --help to read its options")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown", "html"]), default="text",
              show_default=True, help="text: per-seed detail; json/markdown/html: advisor's report renderers")
@click.option("-o", "--output", default=None, help="write the result to FILE (- for stdout)")
@click.option("-q", "--quiet", is_flag=True, help="no progress on stderr")
def verify_cmd(run, cmd, entry, builtin, list_, sets, rules, steps, seeds, confidence, budget, tries, only_try,
               include_info, all_recommendations, no_reuse, timeout, jobs, executor, address, device, workdir, bools, value_maps, allow_dash_values, no_help,
               fmt, output, quiet) -> None:
    """Re-run short fix trials (baseline vs each recommended change, several seeds) and say
    whether the advice holds: confirmed | refuted | inconclusive | not-reproduced."""
    from advisor.verify.trial import PlanError, parse_sets

    if list_:
        from advisor.verify.experiments import list_text

        click.echo(list_text(), nl=False)
        return
    modes = [m for m in (cmd, entry, builtin) if m]
    if len(modes) != 1:
        _fail("give exactly one of --cmd, --entry or --builtin (see advisor verify --help)")
    if builtin and run:
        _fail("--builtin runs a reference experiment; it takes no RUN")
    if (cmd or entry) and not run:
        _fail("--cmd/--entry need the RUN whose findings to verify")
    try:
        overrides = parse_sets(sets)
        try_changes = [parse_sets(t.split(",")) for t in tries]
    except PlanError as exc:
        _fail(str(exc).replace("--set", "--set/--try"))
    cap = _parse_budget(budget)
    if executor == "ray" and cmd:
        _fail("--executor ray runs --entry and --builtin trials; --cmd trials run on this machine (use --jobs)")
    if only_try and not tries:
        _fail("--only-try needs at least one --try KEY=VALUE")
    if (entry or builtin) and not torch_available():
        _need_torch()
    if fmt == "html" and not output:
        _fail("--format html needs -o FILE (or -o - for stdout)")
    say = _say(quiet)
    if builtin:
        _verify_builtin(builtin, seeds, jobs, device, fmt, output, say, steps, cap, confidence, executor, address)
        return
    from advisor.executor import ExecutorError
    from advisor.verify.entry import EntryError
    from advisor.verify.session import VerifyError, VerifyOptions, all_trials_failed, verify_path
    from advisor.verify.template import TemplateError, parse_bool_styles, parse_value_maps

    try:
        options = VerifyOptions(cmd=cmd, entry=entry, steps=steps, seeds=seeds, timeout=timeout, jobs=jobs,
                                device=device, workdir=workdir, rules=list(rules), bools=parse_bool_styles(bools),
                                confidence=confidence, budget=cap, executor=executor, address=address, tries=try_changes, only_tries=only_try,
                                all_recommendations=all_recommendations,
                                include_info=include_info, reuse_original=not no_reuse,
                                value_maps=parse_value_maps(value_maps), allow_dash=allow_dash_values,
                                read_help=not no_help)
        diagnosis = verify_path(run, overrides, options, say, _diagnose_options())
    except (VerifyError, TemplateError, EntryError, PlanError, ExecutorError) as exc:
        _fail(str(exc))
    _emit(diagnosis, fmt, output)
    failed = all_trials_failed([v for r in diagnosis.runs for v in (r.verification or [])])
    if failed:
        _fail(f"every trial failed, nothing was verified; the first: {_one_line(failed)}")


def _parse_budget(text: str) -> float | None:
    """`1.5x`, `0.25x`, `0.25` or `none` -> the cap as a multiple of the original run (None: no cap)."""
    t = (text or "").strip().lower()
    if t in ("none", "inf", "off"):
        return None
    try:
        value = float(t[:-1] if t.endswith("x") else t)
    except ValueError:
        value = -1.0
    if not (value > 0 and value < 1e6):
        _fail(f"--budget {text!r}: expected a multiple of the original run such as 0.25x, 1.5x, or none")
    return value


def _one_line(text: str) -> str:
    return " ".join(str(text).split())[:300]


def _diagnose_options():
    """The run is diagnosed exactly as `advisor diagnose` would ([tool.advisor] rules, roles,
    thresholds), so the findings verified are the ones the user saw."""
    from pathlib import Path

    from advisor.config import ConfigError, load_config
    from advisor.pipeline import DiagnoseOptions

    try:
        config = load_config(None)
    except ConfigError as exc:
        _fail(str(exc))
    return DiagnoseOptions(select=config.select, ignore=config.ignore, rule_dirs=[Path(p) for p in config.rules],
                           roles=config.roles, thresholds=config.thresholds)


def _emit(diagnosis, fmt: str, output: str | None) -> None:
    if fmt != "text":
        from advisor.report import render

        _write(render(diagnosis, fmt), output)
        return
    from advisor.verify.textout import verification_text

    parts = []
    for report in diagnosis.runs:
        parts.append(f"{report.run.name}\n")
        summaries = {f.rule: f.summary for f in report.findings}
        for v in report.verification or []:
            if v.rule in summaries:
                parts.append(f"finding {v.rule}: {summaries.pop(v.rule)}\n")
            parts.append(verification_text(v))
    _write("".join(parts), output)


def _verify_builtin(name: str, seeds: int, jobs: int, device: str, fmt: str, output: str | None, say,
                    steps: int | None, budget: float | None = 1.5, confidence: float = 0.9, executor: str = "local",
                    address: str | None = None) -> None:
    from advisor.model import Diagnosis
    from advisor.verify.experiments import EXPERIMENTS
    from advisor.verify.runner import TemplateError
    from advisor.executor import ExecutorError
    from advisor.verify.session import VerifyError, run_experiment
    from advisor.verify.textout import verification_text

    names = list(EXPERIMENTS) if name == "all" else [name]
    unknown = [n for n in names if n not in EXPERIMENTS]
    if unknown:
        _fail(f"no built-in experiment {unknown[0]!r}; known: {', '.join(EXPERIMENTS)}, all")
    diagnosis = Diagnosis()
    texts, mismatches = [], []
    for n in names:
        exp = EXPERIMENTS[n]
        say(f"experiment {n}: {exp.title}")
        t0 = time.perf_counter()
        try:
            report = run_experiment(exp, seeds=seeds, jobs=jobs, device=device, progress=say, steps=steps,
                                    budget=budget, confidence=confidence, executor=executor, address=address)
        except (TemplateError, VerifyError, ExecutorError) as exc:
            _fail(str(exc))
        elapsed = time.perf_counter() - t0
        diagnosis.runs.append(report)
        v = report.verification[0]
        ok = v.verdict == exp.expect
        if not ok:
            mismatches.append(n)
        texts.append(verification_text(v, title=f"builtin:{n}")
                     + f"  expected {exp.expect}: {'ok' if ok else 'MISMATCH'}; {elapsed:.1f}s wall\n\n")
    ratios = [r.verification[0].compute.get("ratio") for r in diagnosis.runs if r.verification]
    ratios = sorted(x for x in ratios if x is not None)
    if ratios:
        mid = ratios[len(ratios) // 2] if len(ratios) % 2 else (ratios[len(ratios) // 2 - 1] + ratios[len(ratios) // 2]) / 2
        texts.append(f"compute: median {mid:.2f}x, max {ratios[-1]:.2f}x of the original run's steps over "
                     f"{len(ratios)} experiment(s) (the original runs themselves not counted)\n")
    if fmt != "text":
        from advisor.report import render

        _write(render(diagnosis, fmt), output)
    else:
        _write("".join(texts), output)
    if ratios and fmt != "text":
        say(texts[-1].rstrip())
    if mismatches:
        say(f"advisor: verdict differs from the expected one for: {', '.join(mismatches)}", err=True)
        sys.exit(EXIT_MISMATCH)


# ----------------------------------------------------------------------------- lr-find


@click.command("lr-find")
@click.argument("run", required=False, type=click.Path())
@click.option("--builtin", "task", help="sweep a built-in task (digits-mlp, moons-mlp, ...)")
@click.option("--entry", help="pkg.module:function shaped like builtins.lr_range_test(config, seed, log, ...)")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="config value (repeatable)")
@click.option("--start-lr", type=float, default=1e-5, show_default=True)
@click.option("--end-lr", type=float, default=10.0, show_default=True)
@click.option("--steps", type=click.IntRange(12), default=200, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--device", default="auto", show_default=True, help="auto | cpu | cuda | cuda:N")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def lr_find_cmd(run, task, entry, sets, start_lr, end_lr, steps, seed, device, fmt) -> None:
    """LR range test (Smith 2015): sweep the LR geometrically and read off a suggestion, or say
    plainly that the curve is not informative. RUN analyses an existing range-test log instead."""
    from advisor.verify.lrfind import analyse_range_test, run_lr_find, text_report
    from advisor.verify.trial import PlanError, parse_sets

    if sum(bool(m) for m in (run, task, entry)) != 1:
        _fail("give exactly one of RUN, --builtin TASK or --entry pkg.module:function")
    if run:
        lr, loss = _sweep_from_log(run)
        result = analyse_range_test(lr, loss)
    else:
        _need_torch()
        try:
            config = parse_sets(sets)
        except PlanError as exc:
            _fail(str(exc))
        from advisor.verify.runner import TemplateError, inprocess_device, resolve_device

        try:
            plan = resolve_device(device)
        except TemplateError as exc:
            _fail(str(exc))
        if task:
            from advisor.verify.builtins import TASKS, lr_range_test

            if task not in TASKS:
                _fail(f"no built-in task {task!r}; known: {', '.join(TASKS)}")
            fn, config = lr_range_test, {"task": task, **config}
        else:
            from advisor.verify.entry import EntryError, load_entry

            try:
                fn = load_entry(entry)
            except EntryError as exc:
                _fail(str(exc))
        result = run_lr_find(fn, config, seed=seed, start_lr=start_lr, end_lr=end_lr, steps=steps,
                             device=inprocess_device(plan.gpus[0] if plan.kind == "cuda" else None))
    if fmt == "json":
        from advisor.report.json_report import _clean

        keep = {k: v for k, v in result.items() if k not in ("smoothed",)}
        click.echo(json.dumps(_clean(keep), indent=2, allow_nan=False))
    else:
        click.echo(sanitize(text_report(result), newlines=True), nl=False)


def _sweep_from_log(path: str):
    """(lr, loss) pairs of an LR-range-test log on disk, aligned by step."""
    import numpy as np

    from advisor.pipeline import read_runs
    from advisor.roles import build_curves

    runs, errors = read_runs([path])
    if len(runs) != 1:
        _fail(f"{path}: expected one run, found {len(runs)}" + (f" ({errors[0]['message']})" if errors else ""))
    curves, _ = build_curves(runs[0])
    lr, loss = curves.get("lr"), curves.get("train_loss")
    if lr is None or loss is None:
        _fail(f"{path}: the log needs both an lr and a training loss curve")
    ok = np.isfinite(lr.y) & (lr.y > 0)
    lr_at = np.exp(np.interp(loss.x, lr.x[ok], np.log(lr.y[ok])))
    return lr_at, np.asarray(loss.y, float)


# ----------------------------------------------------------------------------- demo


@click.command("demo")
@click.option("--out", type=click.Path(file_okay=False), help="where the bad run's logs go [default: a temp dir]")
@click.option("--scenario", type=click.Choice(["slow", "divergence"]), default="slow",
              show_default=True, help="which bad run to train (each chosen to give the same result on any CPU)")
@click.option("--seeds", type=click.IntRange(1), default=3, show_default=True)
@click.option("--jobs", type=click.IntRange(1), default=1, show_default=True)
@click.option("--device", default="auto", show_default=True)
def demo_cmd(out, scenario, seeds, jobs, device) -> None:
    """The whole loop on a real training: train a bad run, diagnose it, verify the first advice."""
    _need_torch()
    from advisor.verify.demo import DemoError, run_demo

    try:
        run_demo(out, scenario, seeds, jobs, device, echo=click.echo)
    except DemoError as exc:
        _fail(str(exc))
