"""Configuration from `[tool.advisor]` in pyproject.toml or an `advisor.toml`, merged under the CLI.

Looked up from the current folder upwards (like ruff and black): the first `advisor.toml`, or the
first `pyproject.toml` that has a `[tool.advisor]` table. Command-line options win over it.

    [tool.advisor]
    fail_on = "warning"            # error | warning | info
    allow_empty = true             # runs without a point (placeholders) do not fail the gate
    select = ["DIV", "OSC"]        # rule ids, id prefixes, slugs or categories
    ignore = ["SLOW001"]
    rules = ["ci/advisor-rules"]   # extra rule folders, relative to the config file
    [tool.advisor.roles]           # force a tag for a role
    val_loss = "metrics/val_nll"
    [tool.advisor.thresholds.OSC001]   # per-rule parameter overrides
    min_rel_amplitude = 0.3
    [tool.advisor.limits]              # raise what one log may cost (advisor.limits)
    file_bytes = "8G"
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class ConfigError(Exception):
    """A config file that cannot be used; the message names the file and the key."""


@dataclass
class Config:
    path: Path | None = None
    fail_on: str | None = None
    allow_empty: bool = False  # runs without a scalar point do not fail the gate (placeholders)
    select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    rules: list[Path] = field(default_factory=list)
    roles: dict[str, str] = field(default_factory=dict)
    thresholds: dict[str, dict[str, Any]] = field(default_factory=dict)
    limits: dict[str, Any] = field(default_factory=dict)


def find_config(start: Path | None = None) -> Path | None:
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "advisor.toml"
        if candidate.is_file():
            return candidate
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            try:
                if "advisor" in tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {}):
                    return pyproject
            except (tomllib.TOMLDecodeError, OSError):
                continue
    return None


def load_config(path: Path | None = None) -> Config:
    path = path or find_config()
    if path is None:
        return Config()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    if path.name == "pyproject.toml":
        data = data.get("tool", {}).get("advisor", {})
    known = {"fail_on", "allow_empty", "select", "ignore", "rules", "roles", "thresholds", "limits"}
    for key in data:
        if key not in known:
            raise ConfigError(f"{path}: unknown key '{key}' (known: {', '.join(sorted(known))})")
    fail_on = data.get("fail_on")
    if fail_on is not None and fail_on not in ("error", "warning", "info", "never"):
        raise ConfigError(f"{path}: key 'fail_on' must be error, warning, info or never")
    if not isinstance(data.get("allow_empty", False), bool):
        raise ConfigError(f"{path}: key 'allow_empty' must be true or false")
    for key in ("select", "ignore", "rules"):
        if not isinstance(data.get(key, []), list):
            raise ConfigError(f"{path}: key '{key}' must be a list")
    for key in ("roles", "thresholds", "limits"):
        if not isinstance(data.get(key, {}), dict):
            raise ConfigError(f"{path}: key '{key}' must be a table")
    return Config(
        path=path,
        fail_on=fail_on,
        allow_empty=data.get("allow_empty", False),
        select=[str(s) for s in data.get("select", [])],
        ignore=[str(s) for s in data.get("ignore", [])],
        rules=[(path.parent / r) for r in data.get("rules", [])],
        roles={str(k): str(v) for k, v in data.get("roles", {}).items()},
        thresholds={str(k): dict(v) for k, v in data.get("thresholds", {}).items()},
        limits=_limits(path, data.get("limits", {})),
    )


def _limits(path: Path, table: dict[str, Any]) -> dict[str, Any]:
    from advisor.limits import DEFAULT

    try:
        DEFAULT.raised(table)
    except ValueError as exc:
        raise ConfigError(f"{path}: [limits] {exc}") from None
    return dict(table)
