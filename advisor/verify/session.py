"""One verification session: plan the arms, run every trial, measure, decide.

Why one place: `advisor verify RUN --cmd`, `--entry`, `--builtin` and `advisor demo` differ only
in how a trial is executed (a command, a function, a built-in experiment); planning, budgets,
seeds, measuring and the verdict are shared here so the three cannot drift apart.

Baseline trials are run once per step budget and shared by every fix arm of that budget: each
fix is compared with the same baseline seeds (paired by seed).
"""
from __future__ import annotations

import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from advisor.model import Diagnosis, Finding, Run, Verification
from advisor.verify.trial import (
    Arm, PlanError, TrialResult, baseline_config, default_steps, log_cadence, original_length, plan_arms, seeds_for,
)

Progress = Callable[[str], None]


@dataclass
class VerifyOptions:
    cmd: str | None = None  # command template (runner.py)
    entry: str | None = None  # pkg.module:function (entry.py)
    steps: int | None = None  # None: from the finding's onset (trial.default_steps)
    seeds: int = 3
    seed_base: int = 0
    timeout: float | None = None
    jobs: int = 1
    device: str = "auto"
    workdir: Path | None = None  # where command trials write their {logdir}s (default: a temp dir)
    rules: list[str] = field(default_factory=list)
    bools: dict[str, str] = field(default_factory=dict)  # --bool key=style (template.BOOL_STYLES)
    value_maps: dict[str, dict[str, str]] = field(default_factory=dict)  # --value key.value=text
    allow_dash: bool = False  # --allow-dash-values: a whole-token value may start with "-"
    read_help: bool = True  # read the script's --help for flags, choices and integer options
    first_only: bool = False  # only the first recommendation with a change (demo)
    log_every: int = 1  # in-memory trials are measured at the original log's cadence (trial.log_cadence)


class VerifyError(Exception):
    """A session that cannot start (unreadable run, bad template): one line, exit 2."""


class NothingToVerify(VerifyError):
    """No finding, or no recommendation with a parameter change: said plainly, not an error."""


def verify_findings(findings: list[Finding], config: dict[str, Any], aliases: dict[str, list[str]],
                    options: VerifyOptions, original: int | None = None,
                    progress: Progress | None = None) -> list[Verification]:
    """Verify every recommendation (with a change) of `findings` against `config`."""
    from advisor.verify import verdict as V
    from advisor.verify.runner import resolve_device

    say = progress or (lambda _msg: None)
    plan = resolve_device(options.device)
    if plan.note:
        say(plan.note)
    arms: list[Arm] = []
    for f in findings:
        steps = options.steps or default_steps(f, original)
        arms.extend(plan_arms([f], config, aliases, steps, options.rules, options.first_only and not arms))
        if options.first_only and arms:
            break
    if not arms:
        raise NothingToVerify("no recommendation with a parameter change to verify"
                          + (f" for rule(s) {', '.join(options.rules)}" if options.rules else ""))
    _check_reachable(arms, options, config)
    rules = _command_rules(arms, options, config, say) if options.cmd else None
    seeds = seeds_for(options.seeds, options.seed_base)
    # one baseline per budget that some runnable fix arm needs (a fix with its own shorter budget,
    # e.g. early stopping, is still compared with the baseline trained for the full trial budget)
    baselines = {_baseline_steps(a, options, original): None for a in arms if a.skip is None}
    jobs: list[tuple[str, dict, int, int]] = []
    for steps in baselines:
        jobs += [(f"baseline@{steps}", config, steps, s) for s in seeds]
    for i, a in enumerate(arms):
        if a.skip is None:
            jobs += [(f"{i}:{a.name}", a.config, a.steps, s) for s in seeds]
    say(f"running {len(jobs)} trials ({len(seeds)} seeds x {len(baselines)} baseline + "
        f"{sum(a.skip is None for a in arms)} fix arm(s)) on {plan.label}")
    results = execute(jobs, options, plan, {k for a in arms for k in a.change if k != "max_steps"}, say, rules)
    by_arm: dict[str, list[TrialResult]] = {}
    for r in results:
        by_arm.setdefault(r.arm, []).append(r)
    out: list[Verification] = []
    for i, a in enumerate(arms):
        judge = V.judge_for(a.finding)
        bsteps = _baseline_steps(a, options, original)
        base_trials = by_arm.get(f"baseline@{bsteps}", [])
        base = _numbers(judge, base_trials)
        notes = list(a.notes)
        if a.skip is not None:
            out.append(Verification(verdict="inconclusive", rule=a.rule, action=a.action, change=a.change,
                                    measure=f"{judge.label} on {judge.role}", baseline=base.values, fix=[],
                                    steps=a.steps, seeds=len(seeds), device=plan.label,
                                    notes=[f"fix not run: {a.skip}"]))
            continue
        fix_trials = by_arm.get(f"{i}:{a.name}", [])
        fix = _numbers(judge, fix_trials)
        if bsteps != a.steps:
            notes.append(f"baseline ran {bsteps} steps, the fix {a.steps}")
        if not options.cmd and options.log_every > 1:
            notes.append(f"trials measured at the original log's cadence: one point every {options.log_every} steps")
        wall = sum(t.wall_s for t in base_trials + fix_trials)
        devices = sorted({t.device for t in base_trials + fix_trials}) or [plan.label]
        out.append(V.build_verification(a.finding, a.rule, a.action, a.change, judge, base, fix, a.steps,
                                        len(seeds), ",".join(devices), wall, notes))
    _attach_compute(out, results, [j[2] for j in jobs], original)
    return out


def _attach_compute(verifications: list[Verification], results: list[TrialResult], steps: list[int],
                    original: int | None) -> None:
    """What the session cost, in trained steps against the original run's length, and how many of
    its trials failed outright (nothing readable came back): the same figures on every verdict."""
    failed = [r for r in results if r.run is None]
    total = int(sum(steps))
    compute: dict[str, Any] = {"trials": len(results), "failed_trials": len(failed), "trial_steps": total}
    if original:
        compute["original_steps"] = int(original)
        compute["ratio"] = round(total / original, 3)
    if failed:
        first = min(failed, key=lambda r: results.index(r))
        compute["first_error"] = f"{first.arm.split(':', 1)[-1]} seed {first.seed}: {first.error}"
    for v in verifications:
        v.compute = dict(compute)


def all_trials_failed(verifications: list[Verification]) -> str | None:
    """The first trial's error when every trial of the session failed, else None."""
    for v in verifications:
        c = v.compute
        if c.get("trials") and c.get("failed_trials") == c.get("trials"):
            return c.get("first_error") or "no trial left a readable log"
    return None


def _baseline_steps(arm: Arm, options: VerifyOptions, original: int | None) -> int:
    """The trial budget the arm was planned with, before any `max_steps` change of its own."""
    return options.steps or default_steps(arm.finding, original)


def _numbers(judge, trials: list[TrialResult]):
    from advisor.verify.verdict import ArmNumbers, measure_trial

    arm = ArmNumbers()
    for t in sorted(trials, key=lambda t: t.seed):
        if t.error:
            arm.errors.append(f"seed {t.seed}: {t.error}")
        if t.run is None:
            continue
        try:
            arm.numbers.append(measure_trial(judge, t.run))
            arm.seeds.append(t.seed)
        except Exception as exc:  # an unmeasurable trial is reported, the others still count
            arm.errors.append(f"seed {t.seed}: not measurable ({type(exc).__name__}: {exc})")
    return arm


def _command_rules(arms: list[Arm], options: VerifyOptions, config: dict[str, Any], say: Progress):
    """Decide, before anything runs, how values reach the script: read its `--help` (flags,
    choices, integer options), pick each boolean's spelling, skip arms whose value the script
    rejects, and render every argv once so a bad template or an injected option refuses the
    session now instead of failing every trial."""
    import os

    from advisor.verify.cmdplan import build_rules, styles_text, unacceptable
    from advisor.verify.script_help import ScriptOptions, read_script_options
    from advisor.verify.template import TemplateError, render_argv, split_template

    try:
        tokens = split_template(options.cmd)
    except TemplateError as exc:
        raise VerifyError(str(exc)) from None
    script, why = ScriptOptions(), None
    if options.read_help:
        script, why = read_script_options(tokens, env={**os.environ, "CUDA_VISIBLE_DEVICES": ""})
        say(f"script options: {len({id(o) for o in script.options.values()})} read from its --help ({script.source})"
            if script.options else f"script options: not read ({why}); values rendered by their own types")
    changed: dict[str, list[Any]] = {}
    for a in arms:
        for key in a.change:
            changed.setdefault(key, []).append(a.config.get(key))
    rules = build_rules(options.cmd, config, changed, script, options.bools, options.value_maps, options.allow_dash)
    if rules.bools:
        say(f"booleans rendered as: {styles_text(rules)}")
    for a in arms:
        if a.skip:
            continue
        for key in a.change:
            reason = unacceptable(options.cmd, key, a.config.get(key), script, rules)
            if reason:
                a.skip = reason
                break
    dummy = {"max_steps": 1, "seed": 0, "logdir": "LOGDIR", "device": "cpu", "gpu": ""}
    try:  # a template the trials cannot fill fails now, not once per trial
        render_argv(options.cmd, {**config, **dummy}, rules)
        for a in arms:
            if not a.skip:
                render_argv(options.cmd, {**a.config, **dummy}, rules)
    except TemplateError as exc:
        hint = "; pass --set NAME=VALUE for what the run's log does not record" if "unknown placeholder" in str(exc) else ""
        raise VerifyError(f"{exc}{hint}") from None
    return rules


def _check_reachable(arms: list[Arm], options: VerifyOptions, config: dict[str, Any]) -> None:
    """A change the command cannot receive would re-run the baseline and 'refute' a good fix:
    such an arm is skipped with the reason instead."""
    if not options.cmd:
        return
    from advisor.verify.runner import placeholders

    names = placeholders(options.cmd)
    for a in arms:
        if a.skip:
            continue
        for key in a.change:
            if key == "max_steps":
                if "max_steps" not in names:
                    a.skip = "the command template has no {max_steps}: the fix's shorter budget cannot reach it"
                continue
            carriers = {key} | {k for k, v in config.items() if k != key and a.config.get(k) != v}
            if not carriers & names:
                a.skip = f"the command template has no {{{key}}} placeholder: the change cannot reach the command"
                break


# ----------------------------------------------------------------------------- execution


def execute(jobs: list[tuple[str, dict, int, int]], options: VerifyOptions, plan, change_keys: set[str],
            say: Progress, rules=None) -> list[TrialResult]:
    """Run (arm, config, steps, seed) jobs with the command runner or the entry point."""
    from advisor.verify import runner

    slots = plan.slots(max(1, options.jobs))
    t0 = time.perf_counter()
    done = [0]

    def tick(r: TrialResult) -> TrialResult:
        done[0] += 1
        status = "ok" if not r.error else r.error
        say(f"  [{done[0]}/{len(jobs)}] {r.arm.split(':', 1)[-1]} seed {r.seed}: {status} ({r.wall_s:.1f}s)")
        return r

    if options.cmd:
        root = Path(options.workdir) if options.workdir else Path(tempfile.mkdtemp(prefix="advisor-verify-"))
        say(f"trial logs under {root}" + ("" if options.workdir else " (removed at the end; --workdir keeps them)"))

        def task_for(arm: str, cfg: dict, steps: int, seed: int):
            logdir = root / f"{_slug(arm)}-{steps}-seed{seed}"

            def task(slot):
                values = {**cfg, "max_steps": steps, "seed": seed}
                return tick(runner.run_cmd_trial(options.cmd, values, logdir, slot, options.timeout, arm, seed,
                                                    rules))

            return task

        try:
            results = runner.run_parallel([task_for(*j) for j in jobs], slots)
        finally:
            if not options.workdir:  # every log is read into memory by now
                shutil.rmtree(root, ignore_errors=True)
    else:
        from advisor.verify import entry as E

        spec = options.entry or E.BUILTIN_TRAIN
        if len(slots) > 1:
            on_gpu = plan.kind == "cuda"
            plain = [(E.entry_config(spec, cfg, change_keys), steps, seed, "cuda" if on_gpu else "cpu", arm)
                     for arm, cfg, steps, seed in jobs]
            gpus = [runner.physical_gpu(s) for s in slots] if on_gpu else None
            results = [tick(r) for r in E.run_entry_parallel(spec, plain, len(slots), gpus)]
            for r in results:
                r.device = plan.label
        else:
            fn = E.load_entry(spec)
            device = runner.inprocess_device(slots[0])
            results = [tick(E.run_entry_trial(spec, E.entry_config(spec, cfg, change_keys), steps, seed, device, arm, fn))
                       for arm, cfg, steps, seed in jobs]
    if not options.cmd and options.log_every > 1:
        from advisor.verify.entry import thin_run

        for r, (_arm, _cfg, steps, _seed) in zip(results, jobs):
            if r.run is not None:
                r.run = thin_run(r.run, options.log_every, steps)
    say(f"trials done in {time.perf_counter() - t0:.1f}s")
    return results


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "trial"


# ----------------------------------------------------------------------------- a run on disk


def verify_path(path: str, sets: dict[str, Any], options: VerifyOptions, progress: Progress | None = None,
                diagnose_options=None) -> Diagnosis:
    """Diagnose the run at `path` with the real pipeline, then verify its recommendations.

    The returned Diagnosis is the same report object `advisor diagnose` renders, with the
    verifications in `RunReport.verification`, so every renderer shows them.
    """
    from advisor.pipeline import diagnose_paths

    diagnosis = diagnose_paths([path], diagnose_options)
    if not diagnosis.runs:
        msg = diagnosis.errors[0]["message"] if diagnosis.errors else "nothing readable found"
        raise VerifyError(f"{path}: {msg}")
    if len(diagnosis.runs) > 1:
        names = ", ".join(r.run.name for r in diagnosis.runs[:5])
        raise VerifyError(f"{path} holds {len(diagnosis.runs)} runs ({names}...): point verify at one run")
    report = diagnosis.runs[0]
    if report.error:
        raise VerifyError(f"{path}: {report.error}")
    say = progress or (lambda _msg: None)
    if not report.findings:
        say(f"{report.run.name}: no finding, nothing to verify")
        return diagnosis
    try:
        config, aliases = baseline_config(report.run, sets)
    except PlanError as exc:
        raise VerifyError(str(exc)) from None
    if not options.cmd and options.log_every == 1:
        options.log_every = log_cadence(report.run, report.metrics.get("train_loss"))
    try:
        report.verification = verify_findings(report.findings, config, aliases, options,
                                              original_length(report.run), progress)
    except NothingToVerify as exc:
        say(f"{report.run.name}: {exc}")
    return diagnosis


# ----------------------------------------------------------------------------- built-in experiments


def run_experiment(exp, seeds: int = 3, jobs: int = 1, device: str = "auto", progress: Progress | None = None,
                   steps: int | None = None):
    """Run one built-in reference experiment (advisor.verify.experiments) -> a RunReport with its
    finding and verification, shaped like a diagnosed run so every renderer can show it."""
    from advisor.model import RunReport
    from advisor.verify.entry import BUILTIN_TRAIN

    from advisor.verify.builtins import resolve_config

    options = VerifyOptions(entry=BUILTIN_TRAIN, steps=steps or exp.steps, seeds=seeds, jobs=jobs, device=device)
    finding = exp.finding()
    config = resolve_config(dict(exp.config))  # the task's defaults filled in: every change has a `from`
    verifications = verify_findings([finding], config, {}, options, None, progress)
    run = Run(name=f"builtin:{exp.name}", path=f"builtin:{exp.name}", format="builtin", writer="advisor.verify",
              hparams=dict(exp.config))
    return RunReport(run=run, metrics={}, findings=[finding], verification=verifications)
