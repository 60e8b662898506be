"""Signals: what a careful practitioner measures on a run's curves, with evidence.

Each family lives in its own module as a pure function of `Curve`s returning a `Measurement`
(advisor.model). `REGISTRY` declares, for every family, the roles it is measured on and every key
its `values` may hold: rules refer to "<family>.<key>" and a test checks each reference exists
here, so a typo in a rule file fails the suite instead of silently never firing.

`measure(curves)` runs every family on every role it applies to. A family that raises is
recorded as an error measurement for that run (detected=False, values["error"]=message) rather
than killing the whole diagnosis.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from advisor.model import Curves, Measurement


@dataclass(frozen=True)
class Family:
    name: str
    roles: tuple[str, ...]  # roles the family is measured on, in order of preference
    keys: dict[str, str]  # value key -> what it means (units, range)
    fn: str  # "module:function", imported lazily; fn(curves, role) -> Measurement | None


REGISTRY: dict[str, Family] = {}


def register(family: Family) -> None:
    REGISTRY[family.name] = family


class Measurements:
    """All measurements of one run, looked up by (family, role)."""

    def __init__(self, items: list[Measurement] | None = None) -> None:
        self.items: list[Measurement] = list(items or [])
        self._index = {(m.family, m.role): m for m in self.items}

    def add(self, m: Measurement) -> None:
        self.items.append(m)
        self._index[(m.family, m.role)] = m

    def get(self, family: str, role: str) -> Measurement | None:
        return self._index.get((family, role))

    def value(self, ref: str, role: str) -> Any:
        """The value of "<family>.<key>" (or "<family>.detected") measured on `role`; None if absent."""
        family, _, key = ref.partition(".")
        m = self.get(family, role)
        if m is None:
            return None
        if key in ("", "detected"):
            return m.detected
        if key == "start_step":
            return m.start_step
        if key == "end_step":
            return m.end_step
        if key == "confidence":
            return m.confidence
        return m.values.get(key)

    def __iter__(self):
        return iter(self.items)


def measure(curves: Curves, families: list[str] | None = None) -> Measurements:
    """Run every registered family (or those named) on every role it applies to; the families
    share one memory of the robust estimators' answers (`robust.remembering`)."""
    from advisor.signals.robust import remembering

    # numpy's floating-point warnings are not the user's business: a log's LR starting at exactly 0, or two
    # points at one step, makes a ratio or a slope inf/NaN that the families test and discard, and numpy
    # printed ten RuntimeWarnings above the report for one public MAE log (its warmup from LR 0)
    with remembering(), np.errstate(all="ignore"):
        return _measure(curves, families)


def _measure(curves: Curves, families: list[str] | None) -> Measurements:
    import importlib

    out = Measurements()
    for name, family in REGISTRY.items():
        if families is not None and name not in families:
            continue
        module_name, _, fn_name = family.fn.partition(":")
        fn: Callable[[Curves, str], Measurement | None] = getattr(importlib.import_module(module_name), fn_name)
        for role in family.roles:
            if curves.get(role) is None and not family.name.startswith("run_"):
                continue
            try:
                m = fn(curves, role)
            except Exception as exc:  # a crashing signal is a finding about the tool, not a dead run
                m = Measurement(family=name, role=role, tag=getattr(curves.get(role), "tag", ""), detected=False,
                                values={"error": f"{type(exc).__name__}: {exc}"})
            if m is not None:
                out.add(m)
    return out


__all__ = ["Family", "REGISTRY", "register", "Measurements", "measure"]

from advisor.signals import catalogue as _catalogue  # noqa: E402,F401  (fills REGISTRY on import)
