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
        # a case may name its first action when the rule's first recommendation is conditional
        first = case.get("first_action", rule.recommendations[0].action)
        assert finding.recommendations and finding.recommendations[0].action == first
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
        refs += [m for m in re.findall(r"\{([a-z_]+\.[a-z_0-9]+)(?:\|[a-z]+)?\}", text)]
    for rec in rule.recommendations:
        if rec.when is not None:
            refs += referenced_signals(rec.when)
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


# Latin script (with accents), general punctuation, arrows and maths symbols: what every report
# font has. Anything else (CJK above all) renders as boxes on a machine without that font.
NON_LATIN = re.compile(r"[^\x00-\u024f\u2000-\u22ff]")


def _texts_outside_quotes(node, where=""):
    """Every string of a rule file except its `quote`/`quotes` keys (the only place for other scripts)."""
    if isinstance(node, str):
        yield where, node
    elif isinstance(node, dict):
        for key, value in node.items():
            if key not in ("quote", "quotes"):
                yield from _texts_outside_quotes(value, f"{where}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _texts_outside_quotes(value, f"{where}[{i}]")


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_rules_cite_registered_sources_in_latin_script(rule):
    """Citations name a source from rules/sources.toml by its short name ("seed 003" told a reader
    nothing), and text in other scripts lives in `quote` only, shown by `advisor explain`."""
    import tomllib

    from advisor.engine.sources import cited_names, load_sources, rule_citations

    sources = load_sources()
    for citation in rule_citations(rule):
        unknown = [n for n in cited_names(citation) if n not in sources]
        assert not unknown, f"{rule.id}: {citation!r} cites {unknown}, not in rules/sources.toml"
    data = tomllib.loads(rule.path.read_text(encoding="utf-8"))
    for where, text in _texts_outside_quotes(data):
        assert not NON_LATIN.search(text), f"{rule.id}{where}: non-Latin text outside a quote: {text!r}"


EXAMPLE_LADDER = re.compile(r"\d\s*->\s*\d|\(\d[\d.e-]*, \d[\d.e-]*, \d")


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_advice_texts_carry_no_example_values_of_their_own(rule):
    """A recommendation's text names no LR or decay values of its own: the change beside it is the run's
    (`lr: 4.6e-06 -> 1.4e-05`), and a text saying "one rung of the x3 ladder (0.001 -> 0.003 -> 0.01)"
    beside it read as a second, contradicting change (issue 9: numbers in the run's own units; a LoRA
    fine-tune at 4.6e-6 was told 0.001 -> 0.003)."""
    for rec in rule.recommendations:
        assert not EXAMPLE_LADDER.search(rec.text), f"{rule.id} {rec.action}: {rec.text!r}"


def test_readme_sources_section_is_current():
    from advisor.engine.sources import load_sources, sources_markdown

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    begin, end = "<!-- sources:begin -->", "<!-- sources:end -->"
    assert begin in readme and end in readme, "README.md lacks the generated Sources section"
    current = readme.split(begin, 1)[1].split(end, 1)[0].strip()
    assert current == sources_markdown(load_sources()).strip(), (
        "README Sources section is stale: regenerate with `python -m advisor rules --format sources`"
    )
    assert not NON_LATIN.search(readme.split("## Rules", 1)[1]), "README's rule table or Sources quote another script"


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
    assert [r.id for r in select_rules(rules, select=["OSC"], ignore=["OSC004"])] == ["OSC001", "OSC002", "OSC003", "OSC005"]


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
