"""One verification session: plan the arms, run every trial, measure, decide.

Why one place: `advisor verify RUN --cmd`, `--entry`, `--builtin` and `advisor demo` differ only
in how a trial is executed (a command, a function, a built-in experiment); planning, budgets,
seeds, measuring and the verdict are shared here so the three cannot drift apart.

Baseline trials are run once per step budget and shared by every fix arm of that budget: each
fix is compared with the same baseline seeds (paired by seed).
"""
from __future__ import annotations

import math
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from advisor.blas import callers_env
from advisor.model import Diagnosis, Finding, Run, Verification
from advisor.roles import HPARAM_ALIASES
from advisor.verify.trial import (
    MIN_STEPS, Arm, PlanError, TrialResult, baseline_config, default_steps, log_cadence, logged_config,
    original_length, plan_arms,
)

Progress = Callable[[str], None]


@dataclass
class VerifyOptions:
    cmd: str | None = None  # command template (runner.py)
    entry: str | None = None  # pkg.module:function (entry.py)
    steps: int | None = None  # None: where the fault first shows in the original run (sequential.fault_step)
    seeds: int = 3  # the most seeds per arm; fewer when the verdict is clear sooner
    seed_base: int = 0
    confidence: float = 0.9  # stop adding seeds once the verdict is this sure
    budget: float | None = 1.5  # the most trial steps, as a multiple of the original run's length
    reuse_original: bool = True  # the original run (truncated to the budget) is the seed-0 baseline
    include_info: bool = False  # verify info-level findings too
    tries: list[dict[str, Any]] = field(default_factory=list)  # --try key=value changes
    only_tries: bool = False  # the user's changes instead of the rules' recommendations
    timeout: float | None = None
    jobs: int = 1
    executor: str = "local"  # advisor.executor: "local" or "ray" (in-process entry trials)
    address: str | None = None  # Ray cluster address
    device: str = "auto"
    workdir: Path | None = None  # where command trials write their {logdir}s (default: a temp dir)
    rules: list[str] = field(default_factory=list)
    bools: dict[str, str] = field(default_factory=dict)  # --bool key=style (template.BOOL_STYLES)
    value_maps: dict[str, dict[str, str]] = field(default_factory=dict)  # --value key.value=text
    allow_dash: bool = False  # --allow-dash-values: a whole-token value may start with "-"
    read_help: bool = True  # read the script's --help for flags, choices and integer options
    first_only: bool = False  # only the first recommendation with a change (demo)
    all_recommendations: bool = False  # every recommendation of a finding, not only the first it can take
    log_every: int = 1  # in-memory trials are measured at the original log's cadence (trial.log_cadence)


class VerifyError(Exception):
    """A session that cannot start (unreadable run, bad template): one line, exit 2."""


class NothingToVerify(VerifyError):
    """No finding, or no recommendation with a parameter change: said plainly, not an error."""


@dataclass
class Comparison:
    """The trials of one fix config at one budget, shared by every arm that asks for exactly that
    config (the same clip under two findings runs once), and the baseline it is compared with."""

    arms: list[Arm]
    config: dict[str, Any]
    steps: int
    base_key: str  # which baseline pool: "steps:<n>", or "full" for a fix with its own length
    index: int = 0
    fix: list[TrialResult] = field(default_factory=list)
    done: bool = False
    stop: str = ""  # why no more seeds were added


def verify_findings(findings: list[Finding], config: dict[str, Any], aliases: dict[str, list[str]],
                    options: VerifyOptions, original: int | None = None,
                    progress: Progress | None = None, original_run: Run | None = None) -> list[Verification]:
    """Verify the recommendations (with a change) of `findings`, and the user's `--try` changes.

    With `original_run` (the run the findings came from) its log, truncated to the trial budget,
    is the seed-0 baseline, the budget comes from where each finding's own criterion first holds
    on it, and seeds are added one round at a time until each verdict is clear (sequential.py)."""
    from advisor.verify import verdict as V
    from advisor.verify.runner import resolve_device

    say = progress or (lambda _msg: None)
    plan = resolve_device(options.device)
    if plan.note:
        say(plan.note)
    skipped_info = [f for f in findings if f.severity == "info" and not options.include_info]
    findings = [f for f in findings if f not in skipped_info]
    if skipped_info:
        say(f"not verifying {len(skipped_info)} info-level finding(s) ({', '.join(f.rule for f in skipped_info)}); "
            "--include-info verifies them too")
    onsets = {id(f): _onset(f, options, original, original_run) for f in findings}
    budgets = {id(f): _budget(f, onsets[id(f)], options, original, original_run, say) for f in findings}
    # a change of the run's length (train longer, stop early) multiplies the original's length
    # when the config does not record one; the key itself reaches a trial only as its step budget
    plan_config = {**config, "max_steps": original} if original and "max_steps" not in config else config
    arms: list[Arm] = []
    for f in findings:
        if not options.only_tries:
            arms.extend(plan_arms([f], plan_config, aliases, budgets[id(f)], options.rules,
                                  options.first_only and not arms))
        if options.first_only and arms:
            break
    if options.tries and findings:
        arms.extend(_try_arms(findings[0], plan_config, aliases, budgets[id(findings[0])], options.tries))
    if plan_config is not config:
        for a in arms:
            a.config.pop("max_steps", None)
    if not arms:
        raise NothingToVerify("no recommendation with a parameter change to verify"
                              + (f" for rule(s) {', '.join(options.rules)}" if options.rules else ""))
    from advisor.verify.entry import mapped_values

    same = mapped_values(config, options.value_maps)
    for a in arms:
        if a.skip is None and mapped_values(a.config, options.value_maps) == same and a.steps == budgets[id(a.finding)]:
            a.skip = "the change leaves the configuration as it is: there is nothing to compare"
    absent = {id(f) for f in findings if original_run is not None and original and onsets[id(f)] is None
              and V.judge_for(f).family is not None}
    _check_reachable(arms, options, config)
    _check_builtin_options(arms, options)
    rules = _command_rules(arms, options, config, say) if options.cmd else None
    if not options.all_recommendations:
        arms = _first_runnable(arms, say)
    comparisons = _comparisons([a for a in arms if id(a.finding) not in absent], original, original_run, budgets)
    _skip_over_budget(comparisons, options, original)
    session = _Session(options, plan, config, rules, original, original_run, say,
                       {k for a in arms for k in a.change if k != "max_steps"})
    session.no_criterion = {id(f) for f in findings if original_run is not None and onsets[id(f)] is None
                            and id(f) not in absent}
    session.run(comparisons)
    out = [session.verification(c, a) for c in comparisons for a in c.arms]
    out += [_not_run(a, plan.label) for a in arms if a.skip is not None and id(a.finding) not in absent]
    out += [_absent(a, plan.label) for a in arms if id(a.finding) in absent]
    order = {id(a): i for i, a in enumerate(arms)}
    out.sort(key=lambda v: order[v._arm_id])  # type: ignore[attr-defined]
    for v in out:
        del v._arm_id  # type: ignore[attr-defined]
    session.attach_compute(out)
    return out


def _first_runnable(arms: list[Arm], say: Progress) -> list[Arm]:
    """Per finding, only its first recommendation that can run (rules list their actions best
    first); the user's `--try` arms are all kept.

    Why: a finding carries 3-5 recommendations, and one fix seed each at a budget of ~0.4 of the
    run already costs more than the run (median 1.22x on bench/verify_agreement.py). The first
    action is the one a user applies; `--all-recommendations` verifies the rest. A finding none of
    whose changes can run keeps every arm, so each reason is still reported (they cost nothing)."""
    dropped = 0
    by_finding: dict[int, list[Arm]] = {}
    for a in arms:
        if a.action == "try":
            continue
        by_finding.setdefault(id(a.finding), []).append(a)
    chosen = {}
    for key, group in by_finding.items():
        runnable = [a for a in group if a.skip is None]
        chosen[key] = runnable[:1] if runnable else group
        dropped += len(group) - len(chosen[key])
    kept = {id(a) for group in chosen.values() for a in group}
    keep = [a for a in arms if a.action == "try" or id(a) in kept]
    if dropped:
        say(f"verifying each finding's first recommendation that can run ({dropped} more not verified; "
            "--all-recommendations verifies every one)")
    return keep


def _onset(f: Finding, options: VerifyOptions, original: int | None, original_run: Run | None) -> int | None:
    """Where the finding's own criterion first holds on the original run (None: unknown or never)."""
    from advisor.verify import verdict as V
    from advisor.verify.sequential import fault_step

    if original_run is None or not original:
        return None
    return fault_step(original_run, V.judge_for(f), original, MIN_STEPS)


def _budget(f: Finding, onset: int | None, options: VerifyOptions, original: int | None,
            original_run: Run | None, say: Progress) -> int:
    """Trial steps for a finding: --steps, else where its own criterion first holds on the
    original run (with a margin), else the detector onset rule of trial.default_steps."""
    from advisor.verify import verdict as V
    from advisor.verify.sequential import trial_budget

    if options.steps:
        return options.steps
    if original_run is None or not original:
        return default_steps(f, original)
    judge = V.judge_for(f)
    steps = trial_budget(onset, original, MIN_STEPS, judge.pattern)
    if onset is None and judge.family is None:
        say(f"{f.rule}: no detector for {judge.pattern}; trials run the original's full length ({original} steps)")
    elif onset is None:
        say(f"{f.rule}: the {judge.pattern} detector does not fire on the original run itself: nothing to reproduce")
    else:
        say(f"{f.rule}: {judge.pattern} first shows at step {onset} of {original} in the original run; "
            f"trials run {steps} steps ({steps / original:.0%} of it)")
        if steps / original > 0.5:
            say(f"{f.rule}: the fault shows late, so each trial costs {steps / original:.0%} of the original run")
    return steps


def _try_arms(finding: Finding, config, aliases, steps: int, tries: list[dict[str, Any]]) -> list[Arm]:
    """The user's own candidate changes (`--try lr=0.01`), judged on the first finding."""
    from advisor.model import Recommendation
    from dataclasses import replace

    arms = []
    for change in tries:
        rec = Recommendation(action="try", change={k: {"set": v} for k, v in change.items()},
                             text="the user's candidate change (--try)", source="--try")
        for arm in plan_arms([replace(finding, recommendations=[rec])], config, aliases, steps):
            arm.finding = finding  # judged (and budgeted) as the finding it is tried against
            arms.append(arm)
    return arms


def _comparisons(arms: list[Arm], original: int | None, original_run: Run | None,
                 budgets: dict[int, int]) -> list[Comparison]:
    """Group runnable arms by (config, steps): identical arms share one set of trials."""
    groups: dict[tuple, Comparison] = {}
    for a in arms:
        if a.skip is not None:
            continue
        own_length = a.steps != budgets[id(a.finding)]  # a fix that sets its own max_steps
        # an early stop (or a longer run) is judged against the full original run, not a cut of it
        base_key = "full" if own_length and original_run is not None and original else f"steps:{budgets[id(a.finding)]}"
        key = (repr(sorted(a.config.items(), key=lambda kv: kv[0])), a.steps, base_key)
        if key in groups:
            groups[key].arms.append(a)
        else:
            groups[key] = Comparison(arms=[a], config=a.config, steps=a.steps, base_key=base_key, index=len(groups))
    return list(groups.values())


def _skip_over_budget(comparisons: list[Comparison], options: VerifyOptions, original: int | None) -> None:
    """An arm whose single trial already costs more than the cap (train 2x longer under a 1x cap)
    is not run; it says what it would cost."""
    if not options.budget or not original:
        return
    for c in list(comparisons):
        if c.steps > options.budget * original:
            for a in c.arms:
                a.skip = (f"one trial of {c.steps} steps costs {c.steps / original:.2g}x the original run, over the "
                          f"--budget {options.budget:g}x cap")
            comparisons.remove(c)


def _not_run(a: Arm, device: str) -> Verification:
    from advisor.verify import verdict as V

    judge = V.judge_for(a.finding)
    v = Verification(verdict="inconclusive", rule=a.rule, action=a.action, change=a.change,
                     measure=f"{judge.label} on {judge.role}", baseline=[], fix=[], steps=a.steps, seeds=0,
                     device=device, notes=[f"fix not run: {a.skip}"])
    v._arm_id = id(a)  # type: ignore[attr-defined]
    return v


def _absent(a: Arm, device: str) -> Verification:
    """The finding's own detector does not fire on the original run: there is no fault to
    reproduce, so no trial is run (the finding rests on measurements the judge does not share)."""
    from advisor.verify import verdict as V

    judge = V.judge_for(a.finding)
    v = Verification(verdict="not-reproduced", rule=a.rule, action=a.action, change=a.change,
                     measure=f"{judge.label} on {judge.role}", baseline=[], fix=[], steps=0, seeds=0, device=device,
                     notes=[f"the {judge.pattern} detector does not fire on the original run itself, at any length: "
                            "there is no fault to reproduce, so no trial was run"])
    v._arm_id = id(a)  # type: ignore[attr-defined]
    return v


class _Session:
    """Rounds of trials: each round adds one fix seed to every undecided comparison (and, from the
    second round, one baseline seed to each pool they use), within the compute cap."""

    def __init__(self, options: VerifyOptions, plan, config, rules, original, original_run, say, change_keys):
        self.options, self.plan, self.config, self.rules = options, plan, config, rules
        self.original, self.original_run, self.say, self.change_keys = original, original_run, say, change_keys
        self.pools: dict[str, list[TrialResult]] = {}
        self.results: list[TrialResult] = []
        self.trained_steps = 0
        self.rounds = 0
        self.no_criterion: set[int] = set()  # findings whose criterion never holds on the original run
        orig_seed = config.get("seed")
        self.first_seed = orig_seed if isinstance(orig_seed, int) and not isinstance(orig_seed, bool) \
            else options.seed_base
        self.cap = options.budget * original if options.budget and original else math.inf

    def seed(self, i: int) -> int:
        return self.first_seed + i

    def pool_steps(self, key: str) -> int:
        return self.original if key == "full" else int(key.split(":")[1])

    def seed_pools(self, comparisons: list[Comparison]) -> None:
        """Seed 0 of every baseline pool is the original run itself (cut to the pool's budget)."""
        from advisor.verify.sequential import truncate

        for c in comparisons:
            if c.base_key in self.pools:
                continue
            self.pools[c.base_key] = []
            if self.options.reuse_original and self.original_run is not None:
                steps = self.pool_steps(c.base_key)
                run = self.original_run if c.base_key == "full" else truncate(self.original_run, steps)
                self.pools[c.base_key].append(TrialResult(arm=f"baseline@{steps}", seed=self.seed(0), run=run,
                                                          wall_s=0.0, device="original run"))

    def run(self, comparisons: list[Comparison]) -> None:
        self.seed_pools(comparisons)
        for r in range(self.options.seeds):
            live = [c for c in comparisons if not c.done]
            if not live:
                break
            jobs, funded = self.round_jobs(live, r)
            for c in live:
                if c not in funded:
                    c.done, c.stop = True, f"stopped after {len(c.fix)} seed(s): the --budget cap was reached"
            if not jobs:
                break
            self.rounds += 1
            self.say(f"round {r + 1}: {len(jobs)} trial(s) for {len(funded)} comparison(s) on {self.plan.label}")
            results = execute(jobs, self.options, self.plan, self.change_keys, self.say, self.rules, self.original,
                              self.config)
            self.results += results
            # what was trained: the budget, or more where a script ran past it (whole epochs)
            self.trained_steps += sum(max(j[2], r.trained_steps or 0) for j, r in zip(jobs, results))
            by_index = {c.index: c for c in funded}
            for (name, _cfg, _steps, _seed), res in zip(jobs, results):
                if name.startswith("pool:"):
                    self.pools[name[5:]].append(res)
                else:
                    by_index[int(name.split(":")[1])].fix.append(res)
            for c in funded:
                self.judge_round(c)
        for c in comparisons:
            if not c.done:
                c.done, c.stop = True, c.stop or f"the seed limit ({self.options.seeds}) was reached"

    def round_jobs(self, live: list[Comparison], r: int):
        """This round's (name, config, steps, seed) jobs, funding comparisons by promise while the
        cap allows (successive halving: the clearly worse were dropped when they were refuted)."""
        ranked = sorted(live, key=self.promise)
        jobs: list[tuple[str, dict, int, int]] = []
        funded: list[Comparison] = []
        want_pool: dict[str, int] = {}
        spent = self.trained_steps
        for c in ranked:
            cost = c.steps
            pool = self.pools[c.base_key]
            # one more baseline seed per round; a full-length pool keeps the original (or one run)
            target = 1 if c.base_key == "full" else r + 1
            need_base = len(pool) < target and c.base_key not in want_pool
            base_cost = self.pool_steps(c.base_key) if need_base else 0
            if spent + cost + base_cost > self.cap and (funded or self.rounds):
                continue
            spent += cost + base_cost
            if need_base:
                want_pool[c.base_key] = len(pool)
            funded.append(c)
        for key, have in want_pool.items():
            jobs.append((f"pool:{key}", self.config, self.pool_steps(key), self.seed(have)))
        for c in funded:
            jobs.append((f"fix:{c.index}:{c.arms[0].name}", c.config, c.steps, self.seed(len(c.fix))))
        return jobs, funded

    def promise(self, c: Comparison) -> float:
        """Lower is more promising: the fix's median judged number relative to the baseline's."""
        if not c.fix:
            return 0.0
        v = self.judged(c, c.arms[0])
        return v.effect.get("ratio", 1.0) if v.effect else 1.0

    def judged(self, c: Comparison, arm: Arm) -> Verification:
        from advisor.verify import verdict as V
        from advisor.verify.sequential import verdict_confidence

        judge = V.judge_for(arm.finding)
        base = _numbers(judge, self.pools.get(c.base_key, []))
        fix = _numbers(judge, c.fix)
        notes = list(arm.notes)
        if id(arm.finding) in self.no_criterion:
            # the rule fired but the judge's detector does not, even on the whole original run:
            # presence cannot be judged, so the verdict rests on the judged number alone
            for n in base.numbers + fix.numbers:
                n.problem = None
            notes.append(f"the {judge.pattern} detector does not fire on the original run: judged on "
                         f"{judge.label} alone")
        if c.base_key == "full":
            notes.append(f"judged against the full original run ({self.original} steps)")
        if self.options.reuse_original and self.original_run is not None:
            notes.append(f"baseline seed {self.seed(0)} is the original run itself, cut to the trial budget")
        if not self.options.cmd and self.options.log_every > 1:
            notes.append(f"trials measured at the original log's cadence: one point every {self.options.log_every} steps")
        trials = self.pools.get(c.base_key, []) + c.fix
        wall = sum(t.wall_s for t in trials)
        devices = sorted({t.device for t in trials if t.device != "original run"}) or [self.plan.label]
        v = V.build_verification(arm.finding, arm.rule, arm.action, arm.change, judge, base, fix, c.steps,
                                 len(c.fix), ",".join(devices), wall, notes)
        v.confidence = verdict_confidence(v.verdict, judge, base, fix, v.effect)
        return v

    def judge_round(self, c: Comparison) -> None:
        target = self.options.confidence
        sure = []
        for a in c.arms:
            v = self.judged(c, a)
            sure.append(v.verdict in ("confirmed", "refuted", "not-reproduced") and (v.confidence or 0) >= target)
        if all(sure):
            c.done, c.stop = True, f"decided after {len(c.fix)} seed(s) at {target:.0%} confidence"

    def verification(self, c: Comparison, arm: Arm) -> Verification:
        v = self.judged(c, arm)
        if c.stop and not c.fix:
            v.notes[0] = f"fix not run: {c.stop.replace('stopped after 0 seed(s): ', '')}"
        elif c.stop:
            v.notes.append(c.stop)
        v._arm_id = id(arm)  # type: ignore[attr-defined]
        return v

    def attach_compute(self, verifications: list[Verification]) -> None:
        """What the session cost, in trained steps against the original run's length (the original
        itself is not counted: it was already paid for), and how many trials failed outright."""
        failed = [r for r in self.results if r.run is None]
        compute: dict[str, Any] = {"trials": len(self.results), "failed_trials": len(failed),
                                   "trial_steps": int(self.trained_steps), "rounds": self.rounds}
        if self.original:
            compute["original_steps"] = int(self.original)
            compute["ratio"] = round(self.trained_steps / self.original, 3)
        if failed:
            first = failed[0]
            compute["first_error"] = f"{first.arm.split(':')[-1]} seed {first.seed}: {first.error}"
        for v in verifications:
            v.compute = dict(compute)


def all_trials_failed(verifications: list[Verification]) -> str | None:
    """The first trial's error when every trial of the session failed, else None."""
    for v in verifications:
        c = v.compute
        if c.get("trials") and c.get("failed_trials") == c.get("trials"):
            return c.get("first_error") or "no trial left a readable log"
    return None


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
        script, why = read_script_options(tokens, env=callers_env({**os.environ, "CUDA_VISIBLE_DEVICES": ""}))
        say(f"script options: {len({id(o) for o in script.options.values()})} read from its --help ({script.source})"
            if script.options else f"script options: not read ({why}); values rendered by their own types")
    _say_length(options.cmd, config, script, say)
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


LENGTH_OPTIONS = ("--max-steps", "--max_steps", "--steps", "--num-steps", "--num_steps", "--iters", "--epochs",
                  "--max-epochs", "--max_epochs", "--num-epochs", "--num_epochs", "--num_train_epochs", "--n-epochs")


def _say_length(template: str, config: dict[str, Any], script, say: Progress) -> None:
    """A template without a length placeholder runs every trial for the script's own length, so
    the trial budget saves nothing: say so once, naming the script's length option when its
    `--help` lists one, rather than let 'trials run N steps' suggest that trials are short."""
    from advisor.verify.runner import placeholders

    if placeholders(template) & STEP_PLACEHOLDERS or epochs_per_step(template, config, None) is not None:
        return
    offered = [name for name in LENGTH_OPTIONS if script.options.get(name) is not None]
    hint = f" (its --help lists {offered[0]})" if offered else ""
    say("the command has no {max_steps} or {epochs}: every trial runs the script's own "
        f"length, whatever its budget; add one{hint} so that trials stop early")


def _check_builtin_options(arms: list[Arm], options: VerifyOptions) -> None:
    """The built-in trainer says which options and values it takes (builtins.resolve_config): an
    arm it would reject is skipped with its reason before anything runs, like a script's --help."""
    from advisor.verify.entry import BUILTIN_TRAIN

    if options.cmd or (options.entry or BUILTIN_TRAIN) != BUILTIN_TRAIN:
        return
    from advisor.verify.builtins import resolve_config
    from advisor.verify.entry import entry_config, mapped_values

    for a in arms:
        if a.skip is None:
            try:
                resolve_config(entry_config(BUILTIN_TRAIN, mapped_values(a.config, options.value_maps),
                                            set(a.change) - {"max_steps"}))
            except ValueError as exc:
                a.skip = f"the built-in trainer cannot take it: {exc}"


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
                if not names & STEP_PLACEHOLDERS and epochs_per_step(options.cmd, config, None) is None:
                    a.skip = ("the command template has no {max_steps} (nor an {epochs} the run records): the fix's "
                              "shorter budget cannot reach it")
                continue
            carriers = {key} | {k for k, v in config.items() if k != key and a.config.get(k) != v}
            if not carriers & names:
                a.skip = f"the command template has no {{{key}}} placeholder: the change cannot reach the command"
                break


# ----------------------------------------------------------------------------- execution


# The placeholders that carry a run's length: `{max_steps}` / `{epochs}` and the hparam names
# advisor.roles reads as them (`{num_train_epochs}` of an HF script, `{max_epochs}` of Lightning's).
STEP_PLACEHOLDERS = frozenset({"max_steps", *HPARAM_ALIASES["max_steps"]})
EPOCH_PLACEHOLDERS = frozenset({"epochs", *HPARAM_ALIASES["epochs"]})


def epochs_per_step(template: str | None, config: dict[str, Any], original: int | None) -> float | None:
    """Epochs per step of the original run's x axis, when the command takes its length in epochs
    and not in steps (`python train.py --epochs {epochs}`, the ordinary form; `{max_epochs}`,
    `{num_train_epochs}` alike) and the run records its epochs; None otherwise. With `original`
    None: 1.0 stands for "yes"."""
    from advisor.verify.runner import placeholders

    if not template:
        return None
    names = placeholders(template)
    epochs = config.get("epochs")
    if names & STEP_PLACEHOLDERS or not names & EPOCH_PLACEHOLDERS or isinstance(epochs, bool) \
            or not isinstance(epochs, (int, float)) or not epochs > 0:
        return None
    return float(epochs) / original if original else 1.0


def _length_values(template: str, cfg: dict[str, Any], steps: int, original: int | None,
                   base: dict[str, Any]) -> dict[str, Any]:
    """A command trial's values with its length: `{max_steps}`, and `{epochs}` scaled to the same
    share of the original run where the template counts in epochs (rounded up: the trial's log is
    cut to `steps` when it is measured). A fix that sets its own epochs (an early stop in epochs)
    keeps them."""
    from advisor.verify.runner import placeholders

    names = placeholders(template)
    values = {**cfg, "max_steps": steps, **{name: steps for name in names & STEP_PLACEHOLDERS}}
    per_step = epochs_per_step(template, base, original)
    if per_step is not None and original and cfg.get("epochs") == base.get("epochs"):
        epochs = max(1, math.ceil(steps * per_step - 1e-9))
        values.update({"epochs": epochs, **{name: epochs for name in names & EPOCH_PLACEHOLDERS}})
    return values


def execute(jobs: list[tuple[str, dict, int, int]], options: VerifyOptions, plan, change_keys: set[str],
            say: Progress, rules=None, original: int | None = None,
            base: dict[str, Any] | None = None) -> list[TrialResult]:
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

        gpus = [runner.physical_gpu(s) for s in dict.fromkeys(slots)] if plan.kind == "cuda" else None
        trials = [(_length_values(options.cmd, cfg, steps, original, base or cfg) | {"seed": seed},
                   root / f"{_slug(arm)}-{steps}-seed{seed}", arm, seed) for arm, cfg, steps, seed in jobs]
        try:
            results = [tick(r) for r in runner.run_cmd_trials(options.cmd, trials, options.timeout, rules,
                                                              len(slots), gpus)]
        finally:
            if not options.workdir:  # every log is read into memory by now
                shutil.rmtree(root, ignore_errors=True)
    else:
        from advisor.verify import entry as E

        spec = options.entry or E.BUILTIN_TRAIN
        if len(slots) > 1 or options.executor != "local":
            on_gpu = plan.kind == "cuda"
            plain = [(E.entry_config(spec, E.mapped_values(cfg, options.value_maps), change_keys), steps, seed,
                      "cuda" if on_gpu else "cpu", arm) for arm, cfg, steps, seed in jobs]
            gpus = [runner.physical_gpu(s) for s in slots] if on_gpu else None
            results = [tick(r) for r in E.run_entry_parallel(spec, plain, len(slots), gpus, options.executor,
                                                             options.address)]
            for r in results:
                r.device = plan.label
        else:
            fn = E.load_entry(spec)
            device = runner.inprocess_device(slots[0])
            results = [tick(E.run_entry_trial(spec, E.entry_config(spec, E.mapped_values(cfg, options.value_maps),
                                                                    change_keys), steps, seed, device, arm, fn))
                       for arm, cfg, steps, seed in jobs]
    from advisor.verify.sequential import truncate

    for r, (_arm, _cfg, steps, _seed) in zip(results, jobs):
        r.trained_steps = original_length(r.run) if r.run is not None else None
        if r.run is not None and (r.trained_steps or 0) > steps:
            # a script that ran past its budget (whole epochs, or a length it does not take from the
            # template) is judged over the budget, like the baseline cut it is compared with
            r.run = truncate(r.run, steps)
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
    if report.problem:  # unreadable, empty, or its analysis crashed: nothing to verify
        raise VerifyError(f"{path}: {report.problem}")
    say = progress or (lambda _msg: None)
    if not report.findings:
        say(f"{report.run.name}: no finding, nothing to verify")
        return diagnosis
    try:
        config, aliases = baseline_config(report.run, sets, logged_config(report.curves))
    except PlanError as exc:
        raise VerifyError(str(exc)) from None
    if not options.cmd and options.log_every == 1:
        options.log_every = log_cadence(report.run, report.metrics.get("train_loss"))
    try:
        report.verification = verify_findings(report.findings, config, aliases, options,
                                              original_length(report.run), progress, original_run=report.run)
    except NothingToVerify as exc:
        say(f"{report.run.name}: {exc}")
    return diagnosis


# ----------------------------------------------------------------------------- built-in experiments


def run_experiment(exp, seeds: int = 3, jobs: int = 1, device: str = "auto", progress: Progress | None = None,
                   steps: int | None = None, budget: float | None = 1.5, confidence: float = 0.9,
                   executor: str = "local", address: str | None = None):
    """Run one built-in reference experiment (advisor.verify.experiments) -> a RunReport with its
    finding and verification, shaped like a diagnosed run so every renderer can show it.

    The experiment's full-length run (seed 0, `exp.steps`) is trained first and plays the user's
    original run: it is not counted in the compute ratio, and the verification then follows exactly
    the path of a real run (budget from where the fault first shows, seed 0 reused, sequential seeds)."""
    from advisor.model import RunReport
    from advisor.verify.builtins import resolve_config
    from advisor.verify.entry import BUILTIN_TRAIN, entry_config, run_entry_trial
    from advisor.verify.runner import inprocess_device, resolve_device

    options = VerifyOptions(entry=BUILTIN_TRAIN, steps=steps, seeds=seeds, jobs=jobs, device=device, budget=budget,
                            confidence=confidence, executor=executor, address=address)
    finding = exp.finding()
    config = resolve_config(dict(exp.config))  # the task's defaults filled in: every change has a `from`
    plan = resolve_device(device)
    say = progress or (lambda _msg: None)
    say(f"training the original run ({exp.steps} steps, seed 0)")
    original = run_entry_trial(BUILTIN_TRAIN, entry_config(BUILTIN_TRAIN, config), exp.steps, 0,
                               inprocess_device(plan.gpus[0] if plan.kind == "cuda" else None), "original")
    if original.run is None:
        raise VerifyError(f"builtin:{exp.name}: the original run failed ({original.error})")
    verifications = verify_findings([finding], config, {}, options, exp.steps, progress, original_run=original.run)
    run = Run(name=f"builtin:{exp.name}", path=f"builtin:{exp.name}", format="builtin", writer="advisor.verify",
              hparams=dict(exp.config))
    return RunReport(run=run, metrics={}, findings=[finding], verification=verifications)
