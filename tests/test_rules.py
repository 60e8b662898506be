"""Every rule file: valid, documented, referencing real signals, and right on its own cases.

The cases run through the real signals and engine (advisor.engine.cases builds the curves), so
a case that fires proves the rule can fire on that shape, and a silent case that it stays
quiet on the healthy twin.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from advisor.engine import RuleError, evaluate_run, load_rules, select_rules
from advisor.engine.cases import case_curves
from advisor.engine.conditions import referenced_signals
from advisor.engine.docs import rules_table
from advisor.engine.rulefile import DOC_SECTIONS, load_file
from advisor.signals import REGISTRY, measure

from conftest import REPO

RULES = load_rules().rules
CASES = [(rule, i, case) for rule in RULES for i, case in enumerate(rule.cases)]


@pytest.mark.parametrize("rule,index,case", CASES, ids=[f"{r.id}-{c['expect']}-{i}" for r, i, c in CASES])
def test_rule_case(rule, index, case):
    curves = case_curves(case)
    measurements = measure(curves)
    verdict = evaluate_run([rule], measurements, curves)
    fired = [f for f in verdict.findings if f.rule == rule.id]
    detail = {m.family + "/" + m.role: (m.detected, m.values) for m in measurements}
    if case["expect"] == "fire":
        assert fired, f"{rule.id} should fire on '{case.get('name')}'; abstentions={verdict.abstentions}; measured={detail}"
        finding = fired[0]
        assert finding.recommendations and finding.recommendations[0].action == rule.recommendations[0].action
        assert "?" not in finding.summary, f"unfilled placeholder in: {finding.summary}"
    else:
        assert not fired, f"{rule.id} should stay silent on '{case.get('name')}': {fired[0].summary}"


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_every_rule_has_fire_and_silent_cases(rule):
    kinds = {c["expect"] for c in rule.cases}
    assert kinds == {"fire", "silent"}, f"{rule.path} needs both a fire and a silent case"


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_rule_references_exist(rule):
    refs = referenced_signals(rule.when) + list(rule.evidence)
    for text in [rule.summary] + [r.text for r in rule.recommendations]:
        refs += [m for m in re.findall(r"\{([a-z_]+\.[a-z_0-9]+)\}", text)]
    for rec in rule.recommendations:
        for spec in rec.change.values():
            if isinstance(spec, dict):
                refs += [v[1:] for v in spec.values() if isinstance(v, str) and v.startswith("$") and "." in v]
    for ref in refs:
        family, _, key = ref.partition(".")
        if family in ("hparam", "curve", "run"):
            continue
        assert family in REGISTRY, f"{rule.id}: unknown signal family in {ref!r}"
        assert key in REGISTRY[family].keys or key in ("detected", "start_step", "end_step", "confidence"), \
            f"{rule.id}: {ref!r} is not a key of {family} (see advisor/signals/catalogue.py)"


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_rule_docs_complete(rule):
    for section in DOC_SECTIONS:
        assert rule.doc[section], f"{rule.id}: empty doc section {section}"
    assert rule.recommendations[0].source


def test_ids_unique_and_stable_names():
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids))
    for r in RULES:
        assert r.path.name == f"{r.id}-{r.slug}.toml"


def test_readme_rule_table_is_current():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    begin, end = "<!-- rules-table:begin -->", "<!-- rules-table:end -->"
    assert begin in readme and end in readme, "README.md lacks the generated rule table markers"
    current = readme.split(begin, 1)[1].split(end, 1)[0].strip()
    assert current == rules_table(RULES).strip(), (
        "README rule table is stale: regenerate with `python -m advisor rules --format markdown`"
    )


def test_schema_errors_name_file_and_key(tmp_path: Path):
    bad = tmp_path / "XYZ001-bad.toml"
    bad.write_text('id = "XYZ001"\nslug = "bad"\nname = "x"\npattern = "oscillation"\nseverity = "fatal"\n')
    with pytest.raises(RuleError, match=r"XYZ001-bad.toml: key 'severity'"):
        load_file(bad)
    bad.write_text("id = [")
    with pytest.raises(RuleError, match="not valid TOML"):
        load_file(bad)


def test_user_rule_folder_overrides_and_select(tmp_path: Path):
    src = next(r for r in RULES if r.id == "OSC001").path.read_text()
    (tmp_path / "OSC001-lr-too-high-oscillation.toml").write_text(src.replace('severity = "warning"', 'severity = "error"'))
    rules = load_rules([tmp_path])
    assert rules.by_id("OSC001").severity == "error"
    assert [r.id for r in select_rules(rules, select=["OSC"], ignore=["OSC004"])] == ["OSC001", "OSC002", "OSC003"]


def test_engine_never_uses_eval():
    for path in (REPO / "advisor" / "engine").glob("*.py"):
        text = path.read_text()
        assert not re.search(r"\beval\(|\bexec\(", text), path


def test_recommendation_already_in_place_is_dropped():
    """A run that already clips at 1.0 is not told to clip at 1.0."""
    from advisor.model import Curves

    rule = next(r for r in RULES if r.id == "DIV001")
    case = next(c for c in rule.cases if c["expect"] == "fire")
    curves = case_curves(case)
    curves.hparams.update({"grad_clip": 1.0, "lr": 0.1})
    verdict = evaluate_run([rule], measure(curves), curves)
    actions = [r.action for r in verdict.findings[0].recommendations]
    assert "gradient_clipping" not in actions and actions[0] == "lower_lr"
    assert verdict.findings[0].recommendations[0].change["lr"]["set"] == 0.03


def test_lr_moves_one_rung_of_the_x3_ladder():
    from advisor.engine import ladder_step

    assert [ladder_step(v, 0.33) for v in (0.1, 0.03, 0.05, 0.001)] == [0.03, 0.01, 0.03, 0.0003]
    assert [ladder_step(v, 3.0) for v in (0.001, 0.003, 0.005, 0.1)] == [0.003, 0.01, 0.01, 0.3]
