"""Rule documentation rendered straight from the rule files (like `ruff rule`), never by hand."""
from __future__ import annotations

import json

from advisor.engine.rulefile import Rule
from advisor.engine.sources import Source, cited_names, rule_citations


def rules_text(rules: list[Rule]) -> str:
    width = max((len(r.slug) for r in rules), default=10)
    lines = [f"{'ID':8} {'NAME':{width}} {'PATTERN':18} {'SEVERITY':8} STATUS"]
    for r in rules:
        lines.append(f"{r.id:8} {r.slug:{width}} {r.pattern:18} {r.severity:8} {r.status}")
    return "\n".join(lines) + "\n"


def rules_json(rules: list[Rule]) -> str:
    return json.dumps([
        {"id": r.id, "slug": r.slug, "name": r.name, "pattern": r.pattern, "severity": r.severity,
         "status": r.status, "category": r.category, "metrics": r.metrics,
         "actions": [rec.action for rec in r.recommendations], "summary": r.doc.get("summary", "")}
        for r in rules
    ], indent=2) + "\n"


def _first_action_cell(rule: Rule) -> str:
    """The action listed first in the rule's file among those never moved ahead (`first_when`),
    plus those that come first on runs whose curves say so."""
    recs = rule.recommendations
    if not recs:
        return "—"
    default = next((r for r in recs if r.first_when is None), recs[0]).action
    promoted = list(dict.fromkeys(r.action for r in recs if r.first_when is not None and r.action != default))
    return f"`{default}`" + (f" (first on some runs: {', '.join(f'`{a}`' for a in promoted)})" if promoted else "")


def rules_table(rules: list[Rule]) -> str:
    """The Markdown table embedded in README.md (a test fails when it is stale)."""
    lines = [
        "| ID | Name | Pattern | Severity | First action | Source |",
        "|---|---|---|---|---|---|",
    ]
    for r in rules:
        first = _first_action_cell(r)
        refs = r.doc.get("references", [])
        ref = refs[0] if isinstance(refs, list) and refs else (str(refs) if refs else "—")
        lines.append(f"| `{r.id}` | {r.slug} | {r.pattern} | {r.severity} | {first} | {ref} |")
    return "\n".join(lines) + "\n"


def condition_text(cond: dict) -> str:
    """A condition tree in words for `advisor explain`: `run.lr_over_usual >= 3 or oscillation.detected == true`."""
    if "all" in cond:
        return " and ".join(_grouped(c) for c in cond["all"])
    if "any" in cond:
        return " or ".join(_grouped(c) for c in cond["any"])
    if "not" in cond:
        return f"not ({condition_text(cond['not'])})"
    where = f" on {cond['role']}" if cond.get("role") else ""
    if cond["op"] in ("exists", "missing"):
        return f"{cond['signal']}{where} {'is measured' if cond['op'] == 'exists' else 'is missing or false'}"
    value = json.dumps(cond["value"]) if not isinstance(cond["value"], str) or not cond["value"].startswith("$") else cond["value"]
    return f"{cond['signal']}{where} {cond['op']} {value}"


def _grouped(cond: dict) -> str:
    text = condition_text(cond)
    return f"({text})" if ("all" in cond or "any" in cond) and len(next(iter(cond.values()))) > 1 else text


def explain(rule: Rule, sources: dict[str, Source] | None = None) -> str:
    """`advisor explain`: the rule's docs, with its sources' original titles and quotes (any script)."""
    doc = rule.doc
    out = [f"{rule.id} ({rule.slug}): {rule.name}", ""]
    out.append(f"pattern: {rule.pattern}   severity: {rule.severity}   status: {rule.status}   metrics: {', '.join(rule.metrics)}")
    if rule.aliases:
        out.append(f"aliases: {', '.join(rule.aliases)}")
    out.append("")
    for section, title in (("summary", "Summary"), ("what", "What it detects"), ("why", "Why it matters"),
                           ("known_problems", "Known problems"), ("fix", "How to fix")):
        out += [f"## {title}", str(doc.get(section, "")).strip(), ""]
    out.append("## Recommendations")
    for rec in rule.recommendations:
        change = json.dumps(rec.change) if rec.change else "-"
        out.append(f"- {rec.action}: {rec.text}  (change: {change}; source: {rec.source})")
        if rec.quote:
            out.append(f"  original words: {rec.quote}")
        if rec.when is not None:
            out.append(f"  given only when: {condition_text(rec.when)}")
        if rec.first_when is not None:
            out.append(f"  comes first when: {condition_text(rec.first_when)}")
    out.append("")
    if rule.params:
        out.append("## Parameters (override in [tool.advisor.thresholds." + rule.id + "])")
        for k, v in rule.params.items():
            out.append(f"- {k} = {v}")
        out.append("")
    refs = doc.get("references", [])
    out.append("## References")
    for ref in refs if isinstance(refs, list) else [refs]:
        out.append(f"- {ref}")
    quotes = doc.get("quotes", [])
    if quotes:
        out += ["", "## Original words"] + [f"- {q}" for q in quotes]
    cited = _cited_sources(rule, sources or {})
    if cited:
        out += ["", "## Sources"]
        for src in cited:
            original = f" (original title: {src.original_title})" if src.original_title else ""
            out.append(f"- {src.name}: {src.title}{original}; {src.kind}")
    return "\n".join(out) + "\n"


def _cited_sources(rule: Rule, sources: dict[str, Source]) -> list[Source]:
    """The registry entries a rule cites, in order of first citation."""
    names: list[str] = []
    for citation in rule_citations(rule):
        names += [n for n in cited_names(citation) if n in sources and n not in names]
    return [sources[n] for n in names]
