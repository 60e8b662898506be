"""Renderers: one report object (advisor.model.Diagnosis), many formats, no computing.

Each renderer is `render(diagnosis: Diagnosis, options: RenderOptions) -> str`. They never measure
or decide anything: formats cannot disagree because they all read the same findings.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:  # keep `advisor --help` free of numpy: the CLI imports this package to register `report`
    from advisor.model import Diagnosis

RENDERERS: dict[str, str] = {
    "json": "advisor.report.json_report:render",
    "text": "advisor.report.text:render",
    "markdown": "advisor.report.markdown:render",
    "github": "advisor.report.github:render",
    "junit": "advisor.report.junit:render",
    "html": "advisor.report.html:render",
    "sarif": "advisor.report.sarif:render",
    "gitlab": "advisor.report.gitlab:render",
}


@dataclass
class RenderOptions:
    color: bool = False  # ANSI colour (text, on a TTY only)
    verbose: bool = False  # show abstentions and measurement details
    fail_on: str = "error"
    allow_empty: bool = False  # an empty run is a placeholder, not a failure (--allow-empty)


def renderer(name: str) -> Callable[[Diagnosis, RenderOptions], str]:
    module, _, fn = RENDERERS[name].partition(":")
    return getattr(importlib.import_module(module), fn)


def render(diagnosis: Diagnosis, fmt: str, options: RenderOptions | None = None) -> str:
    return renderer(fmt)(diagnosis, options or RenderOptions())
