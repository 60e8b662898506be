"""What a training script accepts, read from its own `--help` (argparse or click).

Why: a trial that hands a script a value it rejects (`--batch-size 32.0` to `type=int`,
`--optimizer sgd_momentum` outside `choices`, `--batchnorm true` to a `store_true` flag) crashes
and turns a good recommendation into "inconclusive". The script's help page already says which
options are flags, which take one of a fixed set of values and (for click) which take integers,
so the verifier reads it once, before any trial, and renders values the way the script expects.

Best effort by design: a command whose `--help` cannot be run or parsed gives an empty
`ScriptOptions`, and rendering falls back to the value's own type. Nothing here goes through a
shell.
"""
from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field

HELP_TIMEOUT_S = 30.0

# an option entry of a help line: "--batch-size BATCH_SIZE", "-o OUT", "--optimizer {sgd,adam}",
# "--lr FLOAT", "--optimizer [sgd|adam]", "--flag"
_ENTRY_RE = re.compile(r"^(-{1,2}[A-Za-z0-9][\w.-]*)(?:[ =](.+))?$")
_CLICK_TYPES = {"INTEGER": "int", "FLOAT": "float", "BOOLEAN": "bool", "TEXT": "str"}


@dataclass
class OptionInfo:
    """One option of the script: its names, whether it takes a value, its choices and type."""

    names: list[str]
    flag: bool = False  # takes no value (store_true, click is_flag)
    negated: str | None = None  # "--no-x" of a BooleanOptionalAction / click "--x / --no-x"
    choices: list[str] | None = None
    kind: str | None = None  # "int" | "float" | "bool" | "str" when the help says so (click)
    multi: bool = False  # takes several values (argparse nargs="+"/"*": "X [X ...]")


@dataclass
class ScriptOptions:
    options: dict[str, OptionInfo] = field(default_factory=dict)  # every name -> its option
    source: str = ""  # "argparse" | "click" | "" (unknown)

    def get(self, name: str | None) -> OptionInfo | None:
        return self.options.get(name) if name else None


def parse_help(text: str) -> ScriptOptions:
    """Options listed in an argparse or click help page."""
    out = ScriptOptions(source="click" if re.search(r"^Options:\s*$", text, re.M) else
                        ("argparse" if re.search(r"^(usage:|options:|optional arguments:)", text, re.M | re.I) else ""))
    in_usage = False
    for line in text.splitlines():
        stripped = line.strip()
        # the usage paragraph wraps required options onto indented lines ("  --max-steps N [--seed S]"):
        # they are not entries, and the real entry below must not lose to them
        if re.match(r"^usage:", line, re.I):
            in_usage = True
        elif not stripped:
            in_usage = False
        if in_usage or not line[:1].isspace() or not stripped.startswith("-"):
            continue
        head = re.split(r"\s{2,}", stripped, maxsplit=1)[0]
        info = _option_from_head(head)
        if info is not None:
            for name in info.names + ([info.negated] if info.negated else []):
                out.options.setdefault(name, info)
    return out


def _option_from_head(head: str) -> OptionInfo | None:
    if " / " in head:  # click boolean pair "--shuffle / --no-shuffle"
        pos, _, neg = head.partition(" / ")
        names = [n.strip() for n in pos.split(",") if n.strip().startswith("-")]
        return OptionInfo(names=names, flag=True, negated=neg.split(",")[0].strip() or None, kind="bool") if names else None
    names, metavar = [], None
    for part in (p.strip() for p in head.split(", ")):
        m = _ENTRY_RE.match(part)
        if not m:
            return None
        names.append(m.group(1))
        metavar = m.group(2) or metavar
    info = OptionInfo(names=names, flag=metavar is None)
    if metavar:
        metavar = metavar.strip()
        info.multi = metavar.endswith("...]")
        if metavar.startswith("{") and metavar.endswith("}"):
            info.choices = [c.strip() for c in metavar[1:-1].split(",")]
        elif metavar.startswith("[") and metavar.endswith("]") and "|" in metavar:
            info.choices = [c.strip() for c in metavar[1:-1].split("|")]
        elif metavar in _CLICK_TYPES:
            info.kind = _CLICK_TYPES[metavar]
        if metavar.startswith("INTEGER RANGE"):
            info.kind = "int"
        elif metavar.startswith("FLOAT RANGE"):
            info.kind = "float"
    # argparse's BooleanOptionalAction prints "--shuffle, --no-shuffle"
    longs = [n for n in names if n.startswith("--")]
    if info.flag and len(longs) == 2 and longs[1] == "--no-" + longs[0][2:]:
        info.names, info.negated, info.kind = [longs[0]], longs[1], "bool"
    return info


def help_argv(tokens: list[str]) -> list[str]:
    """The command that prints the script's help: the template's leading tokens up to the first
    option or placeholder (`python -u train.py --lr {lr}` -> `python -u train.py --help`)."""
    prefix = []
    for i, tok in enumerate(tokens):
        if "{" in tok or (tok.startswith("--") and i > 0):
            break
        prefix.append(tok)
    return prefix + ["--help"]


def read_script_options(tokens: list[str], env: dict[str, str] | None = None,
                        timeout: float = HELP_TIMEOUT_S) -> tuple[ScriptOptions, str | None]:
    """Run the script's `--help` once (no shell) and parse it; (options, why-not) on failure."""
    argv = help_argv(tokens)
    if len(argv) < 2:
        return ScriptOptions(), "the command has no script before its options"
    try:
        done = subprocess.run(argv, shell=False, capture_output=True, timeout=timeout, env=env,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return ScriptOptions(), f"{' '.join(argv)} could not run ({type(exc).__name__})"
    text = done.stdout.decode(errors="replace")
    parsed = parse_help(text)
    if done.returncode != 0 or not parsed.options:
        return ScriptOptions(), f"{' '.join(argv)} printed no option list (exit code {done.returncode})"
    return parsed, None
