"""Rule files: where they live, what they must contain, and their in-memory form.

A rule is data (`rules/<category>/<ID>-<slug>.toml`). Loading validates every file against the
schema below and fails with one line naming the file and the key, so a typo in a user's rule
folder is caught at start-up instead of silently never firing.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from advisor.model import SEVERITIES

PATTERNS = {
    "divergence", "oscillation", "plateau", "slow_convergence", "overfitting", "underfitting",
    "gradient_explosion", "gradient_vanishing", "loss_spike", "metric_stall", "lr_range_test",
    "regression", "inconsistent_metric", "batch_lr_mismatch", "kl_blowup",
}
ACTIONS = {
    "lower_lr", "raise_lr", "lr_schedule", "warmup", "raise_batch_size", "lower_batch_size",
    "add_batchnorm", "regularize", "augment_data", "early_stop", "gradient_clipping",
    "change_optimizer", "shuffle_data", "normalize_inputs", "check_data", "lr_range_test",
    "change_loss", "change_init", "check_metric", "train_longer", "raise_entropy_bonus",
}
STATUSES = {"stable", "preview", "deprecated"}
OPS = {"==", "!=", "<", "<=", ">", ">=", "in", "not_in", "exists", "missing"}
DOC_SECTIONS = ("summary", "what", "why", "known_problems", "fix", "references")
ID_RE = re.compile(r"^[A-Z]{2,5}\d{3}$")
SLUG_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


class RuleError(Exception):
    """A rule file that does not match the schema; the message names the file and the key."""


@dataclass
class RuleRecommendation:
    action: str
    change: dict[str, Any]
    text: str
    source: str  # readable short names from rules/sources.toml (see advisor.engine.sources)
    quote: str = ""  # the source's own words, any script; shown by `advisor explain` only
    when: dict[str, Any] | None = None  # given only to runs where this holds (unknown: not given)
    # moved to the front of the finding's advice on runs where this holds (unknown: keeps its place):
    # the same stall calls for BatchNorm first in a net that does not move at all, for a lower LR
    # first when it also bounces, for a higher LR first when it is still creeping down
    first_when: dict[str, Any] | None = None


@dataclass
class Rule:
    id: str
    slug: str
    name: str
    status: str
    pattern: str
    severity: str
    metrics: list[str]  # roles; the first one the run has is the rule's metric
    when: dict[str, Any]
    summary: str  # template with {placeholders}
    recommendations: list[RuleRecommendation]
    doc: dict[str, Any]
    path: Path
    category: str
    params: dict[str, Any] = field(default_factory=dict)
    evidence: list[str] = field(default_factory=list)
    explains: list[str] = field(default_factory=list)  # patterns this finding is the root cause of
    priority: int = 50  # lower first, among findings of equal severity
    # patterns a finding of this rule is shown ahead of at equal severity, when both are found: the
    # cause before the symptom it drives (an LR that bounces drives the val loss up), without the
    # rule explaining the other finding away
    shown_before: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    cases: list[dict[str, Any]] = field(default_factory=list)


def load_file(path: Path) -> Rule:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise RuleError(f"{path}: not valid TOML ({exc})") from None
    except OSError as exc:
        raise RuleError(f"{path}: cannot be read ({exc.strerror})") from None
    return _validate(path, data)


def _need(path: Path, data: dict, key: str, kind: type | tuple[type, ...]) -> Any:
    if key not in data:
        raise RuleError(f"{path}: missing key '{key}'")
    value = data[key]
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise RuleError(f"{path}: key '{key}' must be {names}, got {type(value).__name__}")
    return value


def _validate(path: Path, data: dict[str, Any]) -> Rule:
    known = {
        "id", "slug", "name", "status", "pattern", "severity", "metrics", "when", "summary",
        "recommend", "doc", "params", "evidence", "explains", "priority", "aliases", "cases", "shown_before",
    }
    for key in data:
        if key not in known:
            raise RuleError(f"{path}: unknown key '{key}' (known: {', '.join(sorted(known))})")
    rid = _need(path, data, "id", str)
    if not ID_RE.match(rid):
        raise RuleError(f"{path}: key 'id' must look like ABC123, got {rid!r}")
    slug = _need(path, data, "slug", str)
    if not SLUG_RE.match(slug):
        raise RuleError(f"{path}: key 'slug' must be lowercase-words-with-dashes, got {slug!r}")
    status = data.get("status", "stable")
    if status not in STATUSES:
        raise RuleError(f"{path}: key 'status' must be one of {sorted(STATUSES)}, got {status!r}")
    pattern = _need(path, data, "pattern", str)
    if pattern not in PATTERNS:
        raise RuleError(f"{path}: key 'pattern' must be one of {sorted(PATTERNS)}, got {pattern!r}")
    severity = _need(path, data, "severity", str)
    if severity not in SEVERITIES:
        raise RuleError(f"{path}: key 'severity' must be one of {list(SEVERITIES)}, got {severity!r}")
    metrics = _need(path, data, "metrics", list)
    if not metrics or not all(isinstance(m, str) for m in metrics):
        raise RuleError(f"{path}: key 'metrics' must be a non-empty list of role names")
    when = _need(path, data, "when", dict)
    _validate_condition(path, when, "when")
    params = data.get("params", {})
    if not isinstance(params, dict):
        raise RuleError(f"{path}: key 'params' must be a table")
    recs = []
    for i, rec in enumerate(_need(path, data, "recommend", list)):
        where = f"recommend[{i}]"
        if not isinstance(rec, dict):
            raise RuleError(f"{path}: key '{where}' must be a table")
        action = _need(path, rec, "action", str)
        if action not in ACTIONS:
            raise RuleError(f"{path}: key '{where}.action' must be one of the action ids, got {action!r}")
        change = rec.get("change", {})
        if not isinstance(change, dict):
            raise RuleError(f"{path}: key '{where}.change' must be a table")
        quote = rec.get("quote", "")
        if not isinstance(quote, str):
            raise RuleError(f"{path}: key '{where}.quote' must be str, got {type(quote).__name__}")
        rec_when = rec.get("when")
        if rec_when is not None:
            _validate_condition(path, rec_when, f"{where}.when")
        first_when = rec.get("first_when")
        if first_when is not None:
            _validate_condition(path, first_when, f"{where}.first_when")
        unknown = set(rec) - {"action", "change", "text", "source", "quote", "when", "first_when"}
        if unknown:
            raise RuleError(f"{path}: key '{where}' has unknown keys {sorted(unknown)}")
        recs.append(RuleRecommendation(action, change, _need(path, rec, "text", str), _need(path, rec, "source", str), quote,
                                       rec_when, first_when))
    if not recs:
        raise RuleError(f"{path}: key 'recommend' needs at least one recommendation")
    doc = _need(path, data, "doc", dict)
    for section in DOC_SECTIONS:
        if section not in doc:
            raise RuleError(f"{path}: key 'doc.{section}' is missing (every rule documents {', '.join(DOC_SECTIONS)})")
    cases = data.get("cases", [])
    for i, case in enumerate(cases):
        if not isinstance(case, dict) or case.get("expect") not in ("fire", "silent"):
            raise RuleError(f"{path}: key 'cases[{i}].expect' must be \"fire\" or \"silent\"")
    shown_before = data.get("shown_before", [])
    if not isinstance(shown_before, list) or any(p not in PATTERNS for p in shown_before):
        raise RuleError(f"{path}: key 'shown_before' must be a list of patterns from {sorted(PATTERNS)}")
    expected_name = f"{rid}-{slug}.toml"
    if path.name != expected_name:
        raise RuleError(f"{path}: file name must be {expected_name} (id and slug)")
    return Rule(
        id=rid, slug=slug, name=_need(path, data, "name", str), status=status, pattern=pattern,
        severity=severity, metrics=list(metrics), when=when, summary=_need(path, data, "summary", str),
        recommendations=recs, doc=doc, path=path, category=path.parent.name, params=dict(params),
        evidence=list(data.get("evidence", [])), explains=list(data.get("explains", [])),
        priority=int(data.get("priority", 50)), aliases=list(data.get("aliases", [])), cases=list(cases),
        shown_before=list(shown_before),
    )


def _validate_condition(path: Path, cond: Any, where: str) -> None:
    if not isinstance(cond, dict):
        raise RuleError(f"{path}: key '{where}' must be a table")
    groups = [k for k in ("all", "any", "not") if k in cond]
    if groups:
        if len(cond) != 1:
            raise RuleError(f"{path}: key '{where}' mixes {'/'.join(groups)} with other keys")
        key = groups[0]
        if key == "not":
            _validate_condition(path, cond["not"], f"{where}.not")
            return
        items = cond[key]
        if not isinstance(items, list) or not items:
            raise RuleError(f"{path}: key '{where}.{key}' must be a non-empty list")
        for i, item in enumerate(items):
            _validate_condition(path, item, f"{where}.{key}[{i}]")
        return
    if "signal" not in cond or "op" not in cond:
        raise RuleError(f"{path}: key '{where}' needs 'signal' and 'op' (or all/any/not)")
    if cond["op"] not in OPS:
        raise RuleError(f"{path}: key '{where}.op' must be one of {sorted(OPS)}, got {cond['op']!r}")
    if cond["op"] not in ("exists", "missing") and "value" not in cond:
        raise RuleError(f"{path}: key '{where}.value' is missing")
    unknown = set(cond) - {"signal", "op", "value", "role"}
    if unknown:
        raise RuleError(f"{path}: key '{where}' has unknown keys {sorted(unknown)}")
