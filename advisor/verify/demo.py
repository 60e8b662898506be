"""`advisor demo`: the whole loop on a real (small) training, in well under a minute on a CPU.

1. train a bad run with the built-in trainer and write its log (Lightning CSVLogger layout, with
   hparams.yaml, so the hyperparameters travel with the log as they do in real projects);
2. diagnose that folder with the real pipeline (discover -> ingest -> roles -> signals -> rules);
3. take the first recommendation that carries a parameter change;
4. verify it: the bad run itself is the seed-0 baseline, fix trials run to just past where the
   fault first shows, seeds are added until the verdict is clear;
5. print the verdict with per-seed numbers.
Nothing is staged: if the rules find nothing, the demo says so.
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Callable

# Every scenario must come out the same on any CPU (ATEN_CPU_CAPABILITY=default, avx2, avx512):
# each sits far from its detector's thresholds. Measured: "slow" ends with a last-quarter slope of
# 0.17 (threshold 0.05) and a drop of 29% of its start (judged "near its floor" above 65%), bit for
# bit the same under default, avx2 and avx512 kernels (smooth SGD at a small LR does not amplify
# rounding); "divergence" reaches NaN. A high-LR oscillation is chaotic: which OSC rule fires (or
# none) changed with the kernels (rel. amplitude 0.22 vs 0.31 at LR 0.3), so it is not offered.
SCENARIOS = {
    # plain SGD at LR 0.01: still falling steadily when the run ends; one rung up (x3) converges further
    "slow": ({"task": "digits-mlp", "optimizer": "sgd", "lr": 0.01}, 400),
    # SGD at LR 3: NaN within a few dozen steps
    "divergence": ({"task": "digits-mlp", "optimizer": "sgd", "init": "kaiming", "lr": 3.0, "explode_at": None}, 300),
}
DEFAULT_SCENARIO = "slow"


class DemoError(Exception):
    pass


def run_demo(out: str | None, scenario: str = DEFAULT_SCENARIO, seeds: int = 3, jobs: int = 1, device: str = "auto",
             echo: Callable[[str], None] = print) -> None:
    from advisor.pipeline import diagnose_paths
    from advisor.verify import builtins as B
    from advisor.verify.logwriters import Recorder, write_lightning_csv
    from advisor.verify.session import VerifyError, VerifyOptions, verify_findings
    from advisor.verify.textout import change_text, verification_text
    from advisor.verify.trial import baseline_config, log_cadence, original_length

    config, steps = SCENARIOS[scenario]
    root = Path(out) if out else Path(tempfile.mkdtemp(prefix="advisor-demo-"))
    t0 = time.perf_counter()
    echo(f"1. training a bad run ({scenario}): {config}, {steps} steps")
    rec = Recorder(meta={"name": f"demo-{scenario}"})
    result = B.train(config, steps, 0, rec)
    rec.meta.update(result)
    logdir = write_lightning_csv(rec, root / f"demo-{scenario}")
    echo(f"   wrote {logdir} ({result['steps_done']} steps, final train loss {result['train_loss']:.3g}, "
         f"{result['wall_s']:.1f}s)")

    echo("2. advisor diagnose " + str(logdir))
    diagnosis = diagnose_paths([str(logdir)])
    if not diagnosis.runs or diagnosis.runs[0].problem:
        raise DemoError(f"could not diagnose {logdir}: "
                        + (diagnosis.runs[0].problem if diagnosis.runs else str(diagnosis.errors)))
    report = diagnosis.runs[0]
    if not report.findings:
        raise DemoError("the rules found nothing wrong with the bad run; nothing to verify")
    for f in report.findings:
        echo(f"   [{f.severity}] {f.rule} {f.pattern}: {f.summary}")
        for r in f.recommendations:
            echo(f"       -> {r.action} {change_text(r.change) if r.change else '(no parameter change)'}")
    first = next(((f, r) for f in report.findings for r in f.recommendations if r.change), None)
    if first is None:
        raise DemoError("no recommendation carries a parameter change; nothing to verify")
    finding, rec_ = first
    echo(f"3. verifying the first recommendation: {finding.rule} {rec_.action} ({change_text(rec_.change)})")
    base_config, aliases = baseline_config(report.run, {})
    options = VerifyOptions(seeds=seeds, jobs=jobs, device=device, first_only=True,
                            log_every=log_cadence(report.run, report.metrics.get("train_loss")))
    try:
        verifications = verify_findings([_only(finding, rec_)], base_config, aliases, options,
                                        original_length(report.run), progress=lambda m: echo("   " + m),
                                        original_run=report.run)
    except VerifyError as exc:
        raise DemoError(str(exc)) from None
    echo("4. verdict")
    for v in verifications:
        echo(verification_text(v, title=report.run.name).rstrip("\n"))
    echo(f"demo done in {time.perf_counter() - t0:.1f}s; logs in {root}")


def _only(finding, rec):
    """The finding with just the recommendation being verified."""
    from dataclasses import replace

    return replace(finding, recommendations=[rec])
