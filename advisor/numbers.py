"""The one way a number is written for people: finding summaries, the text/Markdown/HTML reports.

Why one module: a report that prints "2234085120" in one cell, "2.23e+09" in the next and
"1.279e+04" under a chart makes the reader decode three notations (issue 13). The engine's
summaries and every renderer call `readable`, so a value looks the same wherever it appears.

The format:
- whole numbers (ints, and floats with no fractional part) below 1e15 are written exactly, with
  thousands separators: counts and steps are never rounded (`2,234,085,120`, `12,000`);
- other numbers keep 3 significant digits, written positionally from 0.001 up (`0.459`, `1.28`,
  `15.3`); from 100 up they are rounded to a whole number with thousands separators (`3,083`,
  not a falsely exact `3,080`);
- only magnitudes below 0.001 (learning rates, tiny losses) or from 1e15 up use a compact
  exponent (`4.58e-6`, `1e-5`, `3.2e+17`), never the zero-padded `4.583e-06`.
"""
from __future__ import annotations

import math
from typing import Any

SIGNIFICANT = 3


def plain(x: Any) -> Any:
    """A numpy scalar (np.float32(0.5), np.int64(3)) as the Python number it holds; anything else,
    including an array `.item()` cannot unwrap, unchanged. The reports and the JSON document call
    this so a value read from a log prints and serialises like a Python number."""
    if hasattr(x, "item") and not isinstance(x, (str, bytes)):
        try:
            return x.item()
        except (TypeError, ValueError):
            return x
    return x


def readable(x: Any, significant: int = SIGNIFICANT) -> str:
    """`x` in the report's one number format (see the module docstring); non-numbers as str().
    `significant` digits only for callers that must tell close values apart (a baseline's value
    against its limit); whole numbers are exact either way."""
    if x is None:
        return "–"
    x = plain(x)
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return f"{x:,}"
    if not isinstance(x, float):
        return str(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x.is_integer() and abs(x) < 1e15:
        return f"{int(x):,}"
    rounded = float(f"{x:.{significant}g}")
    if abs(rounded) < 1e-3 or abs(rounded) >= 1e15:
        mantissa, _, exponent = f"{x:.{significant - 1}e}".partition("e")
        mantissa = mantissa.rstrip("0").rstrip(".")
        exp = int(exponent)
        return f"{mantissa}e{'+' if exp > 0 else '-'}{abs(exp)}"
    if abs(x) >= 10 ** (significant - 1):  # 3,083 and 12,790, not a falsely exact 3,080
        return f"{round(x):,}"
    decimals = max(0, significant - 1 - math.floor(math.log10(abs(rounded))))
    return f"{rounded:,.{decimals}f}".rstrip("0").rstrip(".")
