"""Command templates: split once, substitute per token, render values the way the script reads them.

Why per token and never a shell: hparams come from logs and from other people's configs. A value
such as `; rm -rf / #` or `$(touch pwned)` must reach the training script as ONE literal
argument. The template is split once with `shlex.split` (as a shell would split it, quotes
included), each token's `{name}` placeholders are replaced by plain text, and the argv list goes
to `subprocess` with `shell=False`. No `str.format` either: `{lr.__class__}` is not an attribute
lookup here, just an unknown placeholder.

Why values need rules (`ArgRules`): hyperparameters read back from logs lose their types (the
TensorBoard hparams plugin stores every number as a double), so a naive render gives
`--batch-size 32.0`, which argparse's `type=int` rejects, and a boolean has as many spellings as
there are scripts (`--flag` presence, `true`, `True`, `1`). Integral numbers therefore render
without a decimal point everywhere, and each boolean key gets a style: given by the user
(`--bool key=STYLE`), read from the script's `--help` (a `store_true` flag, `{0,1}` choices), or
copied from how the run itself recorded it (0/1 -> `1`/`0`).

Option injection: a value placed as a whole token (`--optimizer {optimizer}` or a bare
`{name}`) that starts with `-` would become a new option of the script (`--output=/etc/passwd`),
so such a value is refused before anything runs; `--name={name}` keeps it a value, and
`--allow-dash-values` lets it through deliberately. Negative numbers are values, not options.
"""
from __future__ import annotations

import math
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

_TOKEN_RE = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_.\-]*)\}")
_WHOLE_RE = re.compile(r"^\{([A-Za-z_][A-Za-z0-9_.\-]*)\}$")
_NUMBER_RE = re.compile(r"^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^-?(inf|nan)$", re.I)

BOOL_STYLES = {"true": ("true", "false"), "True": ("True", "False"), "1": ("1", "0"), "yes": ("yes", "no"),
               "flag": ("", "")}
EXACT_INT_LIMIT = 2 ** 53  # beyond this a float's integer text would claim digits it does not hold


class TemplateError(Exception):
    """A template that cannot be rendered (unknown placeholder, bad quoting, option injection): one line."""


@dataclass
class ArgRules:
    """How values become argv text for one script.

    `bools`: key -> style ("true" | "True" | "1" | "yes" | "flag"); `flags`: key -> the option a
    "flag" style emits when true (and `negated`: when false, else nothing); `values`: key ->
    {value text -> script text} (`--value optimizer.sgd_momentum=momentum`); `allow_dash`: let a
    whole-token value start with `-`.
    """

    bools: dict[str, str] = field(default_factory=dict)
    flags: dict[str, str] = field(default_factory=dict)
    negated: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    allow_dash: bool = False
    option_flags: set[str] = field(default_factory=set)  # options that take no value: `--opt {key}` pairs collapse
    multi: set[str] = field(default_factory=set)  # options that take several values (argparse nargs="+"/"*")


def split_template(template: str) -> list[str]:
    try:
        tokens = shlex.split(template)
    except ValueError as exc:
        raise TemplateError(f"--cmd: cannot split the command ({exc})") from None
    if not tokens:
        raise TemplateError("--cmd is empty")
    return tokens


def placeholders(template: str) -> set[str]:
    """Every `{name}` the template uses (after splitting, as it will be rendered)."""
    names: set[str] = set()
    for tok in split_template(template):
        names.update(m.group(1) for m in _TOKEN_RE.finditer(tok) if m.group(1))
    return names


def option_of(tokens: list[str], name: str) -> tuple[str | None, bool]:
    """The script option that receives `{name}` and whether the placeholder is a whole token:
    `--lr={lr}` -> ("--lr", False); `--lr {lr}` -> ("--lr", True); a bare `{flag}` -> (None, True)."""
    for i, tok in enumerate(tokens):
        m = _WHOLE_RE.match(tok)
        if m and m.group(1) == name:
            prev = tokens[i - 1] if i > 0 else ""
            return (prev if prev.startswith("-") and "{" not in prev and "=" not in prev else None), True
        if "{" + name + "}" in tok:
            head, eq, _ = tok.partition("=")
            return (head if eq and head.startswith("-") and "{" not in head else None), False
    return None, False


def is_integral(value: Any) -> bool:
    return (isinstance(value, float) and math.isfinite(value) and value.is_integer()
            and abs(value) < EXACT_INT_LIMIT)


def format_value(value: Any, key: str | None = None, rules: ArgRules | None = None) -> str:
    """A config value as command-line text: integral numbers without a decimal point (32, 0),
    other floats by repr (0.03, 0.0001), booleans in the key's style (true/false by default),
    None as the empty string, anything else by str(); `rules.values` maps the result last."""
    rules = rules or ArgRules()
    if isinstance(value, bool):
        style = rules.bools.get(key or "", "true")
        text = BOOL_STYLES.get(style, BOOL_STYLES["true"])[0 if value else 1]
    elif value is None:
        text = ""
    elif is_integral(value):
        text = str(int(value))
    elif isinstance(value, float):
        text = repr(value)
    else:
        text = str(value)
    mapped = rules.values.get(key or "", {})
    return mapped.get(text, text)


def render_argv(template: str, values: dict[str, Any], rules: ArgRules | None = None) -> list[str]:
    """The argv of one trial: `shlex.split(template)`, then `{name}` replaced inside each token.

    `{{` and `}}` stand for literal braces. A value is inserted as text into its token and never
    re-split or interpreted, so it cannot add arguments or shell syntax; a whole-token value that
    would start a new option is a TemplateError (see the module docstring).
    """
    rules = rules or ArgRules()
    tokens = split_template(template)
    argv: list[str] = []
    for i, tok in enumerate(tokens):
        whole = _WHOLE_RE.match(tok)
        if whole and whole.group(1) in values:
            name = whole.group(1)
            prev = tokens[i - 1] if i > 0 else ""
            if rules.bools.get(name) == "flag" or (prev in rules.option_flags and isinstance(values[name], bool)):
                _render_flag(argv, name, values[name], prev, rules)
                continue
            value = _as_list(values[name], prev, rules)
            if value is None:  # no value: `--clip {clip}` disappears, so the script's own default applies
                if prev.startswith("-") and argv and argv[-1] == prev:
                    argv.pop()
                continue
            for item in (value if isinstance(value, list) else [value]):  # nargs: one token per element
                text = format_value(item, name, rules)
                if text.startswith("-") and not _NUMBER_RE.match(text) and not rules.allow_dash:
                    where = f"{prev}={{{name}}}" if prev.startswith("-") else f"--{name.replace('_', '-')}={{{name}}}"
                    raise TemplateError(f"--cmd: {{{name}}} = {text!r} would start a new option of the script where "
                                        f"the template has a bare {{{name}}}; write {where} in the template (the value "
                                        "stays a value), or pass --allow-dash-values")
                argv.append(text)
            continue

        def sub(m: re.Match) -> str:
            if m.group(0) == "{{":
                return "{"
            if m.group(0) == "}}":
                return "}"
            name = m.group(1)
            if name not in values:
                raise TemplateError(f"--cmd: unknown placeholder {{{name}}} (known: {', '.join(sorted(values))})")
            return format_value(values[name], name, rules)

        argv.append(_TOKEN_RE.sub(sub, tok))
    return argv


def _as_list(value: Any, prev: str, rules: ArgRules) -> Any:
    """A list value as a list of elements (a whole-token placeholder then becomes one argument per
    element, as argparse's nargs="+" reads them); a list the TensorBoard hparams plugin flattened
    to its text ("[64, 64]") is read back as one, without eval, where the script's help says the
    option takes several values."""
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, str) and prev in rules.multi and value.startswith("[") and value.endswith("]"):
        import ast

        try:
            parsed = ast.literal_eval(value)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return value
        if isinstance(parsed, (list, tuple)) and all(isinstance(v, (int, float, str)) for v in parsed):
            return list(parsed)
    return value


def _render_flag(argv: list[str], name: str, value: Any, prev: str, rules: ArgRules) -> None:
    """A flag-style boolean: `--opt {key}` (the option takes no value) or a bare `{key}` becomes
    the option when true and disappears (or becomes its `--no-` form) when false."""
    pair = prev in rules.option_flags
    if pair:
        argv.pop()  # the option token itself: present only when the value says so
    on = bool(value) and str(value).lower() not in ("0", "false", "no", "")
    flag = prev if pair else rules.flags.get(name, "--" + name.replace("_", "-"))
    if on:
        argv.append(flag)
    elif rules.negated.get(name):
        argv.append(rules.negated[name])


def parse_bool_styles(items: list[str] | tuple[str, ...]) -> dict[str, str]:
    """`--bool key=STYLE` items; STYLE is one of true, True, 1, yes, flag."""
    out = {}
    for item in items:
        key, sep, style = item.partition("=")
        if not sep or not key.strip() or style not in BOOL_STYLES:
            raise TemplateError(f"--bool {item!r}: expected KEY=STYLE with STYLE one of {', '.join(BOOL_STYLES)}")
        out[key.strip()] = style
    return out


def parse_value_maps(items: list[str] | tuple[str, ...]) -> dict[str, dict[str, str]]:
    """`--value key.VALUE=SCRIPT_TEXT` items (`optimizer.sgd_momentum=momentum`)."""
    out: dict[str, dict[str, str]] = {}
    for item in items:
        left, sep, text = item.partition("=")
        key, dot, value = left.rpartition(".")
        if not sep or not dot or not key or not value:
            raise TemplateError(f"--value {item!r}: expected KEY.VALUE=TEXT, e.g. optimizer.sgd_momentum=momentum")
        out.setdefault(key, {})[value] = text
    return out
