"""The knowledge sources the rules cite, read from `rules/sources.toml`.

A rule cites a source by its readable short name ("Training & debugging tips: overfitting"), never
by an opaque number, and never with a quote in another script: original-language titles and
quotes are shown by `advisor explain` only, so reports never depend on a CJK font. README's
"Sources" section is generated from this registry and a test checks that every citation names it.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

SOURCES_FILE = "sources.toml"


@dataclass(frozen=True)
class Source:
    name: str  # the short name rules cite
    title: str  # in English
    kind: str
    contributes: str
    original_title: str = ""


def load_sources(rules_dir: Path | None = None) -> dict[str, Source]:
    """The registry of the built-in rules folder (or `rules_dir`), by short name."""
    if rules_dir is None:
        from advisor.engine import builtin_rules_dir
        rules_dir = builtin_rules_dir()
    data = tomllib.loads((Path(rules_dir) / SOURCES_FILE).read_text(encoding="utf-8"))
    return {name: Source(name=name, **entry) for name, entry in data.items()}


def cited_names(citation: str) -> list[str]:
    """The short names in a citation: items joined by "; ", each "<name>" or "<name>: <where>"."""
    return [item.split(": ", 1)[0].strip() for item in citation.split("; ") if item.strip()]


def rule_citations(rule) -> list[str]:
    """Every citation a rule makes: its recommendations' sources, then its doc references."""
    return [rec.source for rec in rule.recommendations] + list(rule.doc.get("references", []))


def sources_markdown(sources: dict[str, Source]) -> str:
    """README's "Sources" list: each source by short name and title, and what it contributes."""
    return "".join(f"- **{name}**: *{src.title}* ({src.kind}). {src.contributes}\n" for name, src in sources.items())
