"""Terminal text for verifications and LR sweeps: formatting only, every number is computed elsewhere."""
from __future__ import annotations

import math
from typing import Iterable

from advisor.model import Verification

VERDICT_MARK = {"confirmed": "CONFIRMED", "refuted": "REFUTED", "inconclusive": "INCONCLUSIVE",
                "not-reproduced": "NOT REPRODUCED"}


def _num(v: float) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    if isinstance(v, float) and math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return f"{v:.3g}"


def _median(values: Iterable[float]) -> float:
    vals = sorted(v for v in values if not math.isnan(v))
    if not vals:
        return math.nan
    mid = len(vals) // 2
    return vals[mid] if len(vals) % 2 else (vals[mid - 1] + vals[mid]) / 2


def change_text(change: dict) -> str:
    parts = []
    for key, spec in change.items():
        if isinstance(spec, dict) and "set" in spec:
            src = spec.get("from")
            parts.append(f"{key} {_num(src) if isinstance(src, float) else src} -> "
                         f"{_num(spec['set']) if isinstance(spec['set'], float) else spec['set']}"
                         if src is not None else f"{key} = {spec['set']}")
        else:
            parts.append(f"{key}: {spec}")
    return ", ".join(parts)


def verification_text(v: Verification, title: str = "") -> str:
    lines = []
    head = f"{v.rule} {v.action} ({change_text(v.change)})"
    lines.append(f"{title + ': ' if title else ''}{head}")
    lines.append(f"  verdict: {VERDICT_MARK.get(v.verdict, v.verdict)}" + (f" - {v.notes[0]}" if v.notes else ""))
    lines.append(f"  {v.measure}, per seed:")
    lines.append(f"    baseline  {'  '.join(_num(x) for x in v.baseline) or '-'}   (median {_num(_median(v.baseline))})")
    lines.append(f"    fix       {'  '.join(_num(x) for x in v.fix) or '-'}   (median {_num(_median(v.fix))})")
    e = v.effect
    eff = []
    if "ratio" in e:
        eff.append(f"ratio of medians {_num(e['ratio'])}")
    if "cliffs_delta" in e:
        eff.append(f"Cliff's delta {e['cliffs_delta']:+.2f}")
    if "cohens_d" in e:
        eff.append(f"Cohen's d {_num(e['cohens_d'])}")
    if "problem_baseline" in e:
        eff.append(f"problem in {int(e['problem_baseline'])} baseline / {int(e['problem_fix'])} fix seeds")
    if "guard_ratio" in e:
        eff.append(f"final-loss ratio {_num(e['guard_ratio'])}")
    if eff:
        lines.append("  effect: " + ", ".join(eff))
    lines.append(f"  {v.steps} steps x {v.seeds} seeds per arm on {v.device}, {v.wall_s:.1f}s of trials")
    if v.confidence is not None:
        lines.append(f"  confidence: {v.confidence:.0%}")
    if v.compute:
        lines.append(f"  compute: {compute_text(v.compute)}")
    for note in v.notes[1:]:
        lines.append(f"  - {note}")
    return "\n".join(lines) + "\n"


def compute_text(c: dict) -> str:
    """`1,200 trial steps = 0.4x the original run (3,000 steps), 6 trials (0 failed)`."""
    text = f"{int(c.get('trial_steps', 0)):,} trial steps"
    if c.get("ratio") is not None:
        text += f" = {c['ratio']:.2f}x the original run ({int(c['original_steps']):,} steps)"
    if c.get("trials") is not None:
        text += f", {c['trials']} trial(s) ({c.get('failed_trials', 0)} failed)"
    return text
