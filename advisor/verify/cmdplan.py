"""Before any command trial runs: how each value will be rendered, and which arms the script cannot take.

Why a step of its own: every mistake here used to cost a whole session of crashed trials
(`--batch-size 32.0` to `type=int`, `optimizer=sgd_momentum` outside the script's `choices`).
Everything that can be known from the template, the script's `--help` and the run's own values
is decided once, up front, and said in one line: a value the script rejects skips that arm with
the reason; a value that would inject an option refuses the session (template.render_argv).
"""
from __future__ import annotations

from typing import Any

from advisor.verify.script_help import OptionInfo, ScriptOptions
from advisor.verify.template import (
    ArgRules, BOOL_STYLES, format_value, is_integral, option_of, placeholders, split_template,
)

_CHOICE_STYLES = [({"true", "false"}, "true"), ({"True", "False"}, "True"), ({"1", "0"}, "1"), ({"yes", "no"}, "yes")]


def build_rules(template: str, config: dict[str, Any], changed: dict[str, list[Any]], script: ScriptOptions,
                bools: dict[str, str] | None = None, values: dict[str, dict[str, str]] | None = None,
                allow_dash: bool = False) -> ArgRules:
    """ArgRules for a template: each boolean key's style, from (in order) the user's `--bool`,
    the script's help (a flag, or choices such as {0,1}) and how the run recorded the key."""
    tokens = split_template(template)
    rules = ArgRules(bools=dict(bools or {}), values=dict(values or {}), allow_dash=allow_dash)
    rules.option_flags = {n for n, o in script.options.items() if o.flag}
    rules.multi = {n for n, o in script.options.items() if o.multi}
    for key in placeholders(template):
        seen = [config.get(key), *changed.get(key, [])]
        if key in rules.bools or not any(isinstance(v, bool) for v in seen):
            continue
        style = _style_from_script(tokens, key, script)
        if style is None:
            style = _style_from_run(config.get(key))
        if style is not None:
            rules.bools[key] = style
    for key, style in list(rules.bools.items()):
        if style == "flag":
            info = _bare_flag(key, script)
            if info is not None:
                rules.flags[key] = info.names[-1]
                if info.negated:
                    rules.negated[key] = info.negated
    return rules


def _style_from_script(tokens: list[str], key: str, script: ScriptOptions) -> str | None:
    option, whole = option_of(tokens, key)
    info = script.get(option)
    if info is None and option is None and whole:
        info = _bare_flag(key, script)
        return "flag" if info is not None else None
    if info is None:
        return None
    if info.flag:
        return "flag"
    if info.choices:
        have = set(info.choices)
        return next((style for pair, style in _CHOICE_STYLES if pair <= have), None)
    return "true" if info.kind == "bool" else None


def _style_from_run(value: Any) -> str | None:
    """The run recorded the key as 0/1 (a number) or as "True"/"False" text: keep that spelling."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)) and value in (0, 1):
        return "1"
    if isinstance(value, str) and value in ("True", "False"):
        return "True"
    if isinstance(value, str) and value in ("yes", "no"):
        return "yes"
    return None


def _bare_flag(key: str, script: ScriptOptions) -> OptionInfo | None:
    for name in ("--" + key.replace("_", "-"), "--" + key):
        info = script.get(name)
        if info is not None and info.flag:
            return info
    return None


def unacceptable(template: str, key: str, value: Any, script: ScriptOptions, rules: ArgRules) -> str | None:
    """Why the script would reject `value` for `key` (outside its choices, not an integer where
    the help says INTEGER), or None when it looks acceptable or the help does not say."""
    option, _ = option_of(split_template(template), key)
    info = script.get(option)
    if info is None or info.flag:
        return None
    text = format_value(value, key, rules)
    if info.choices and text not in info.choices and not _same_number(text, info.choices):
        hint = ""
        if isinstance(value, str):
            hint = f"; map it with --value {key}.{value}=<one of them>"
        return f"the script takes {option} {{{','.join(info.choices)}}}: {text!r} is not among them{hint}"
    if info.kind == "int" and isinstance(value, float) and not is_integral(value):
        return f"the script takes {option} as an integer: {text!r} is not one"
    return None


def _same_number(text: str, choices: list[str]) -> bool:
    """`1` is the choice `1.0` of a `type=float` option: argparse compares converted values."""
    try:
        value = float(text)
    except ValueError:
        return False
    for choice in choices:
        try:
            if float(choice) == value:
                return True
        except ValueError:
            continue
    return False


def styles_text(rules: ArgRules) -> str:
    """`shuffle as 1/0, batchnorm as a flag` for the session's progress line."""
    parts = []
    for key, style in sorted(rules.bools.items()):
        on, off = BOOL_STYLES[style]
        parts.append(f"{key} as {'a flag' if style == 'flag' else on + '/' + off}")
    return ", ".join(parts)
