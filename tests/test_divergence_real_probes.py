"""Divergence calls on real public logs that a practitioner audit (session 21) found misread."""
from __future__ import annotations

from pathlib import Path

from advisor.pipeline import diagnose_paths

FORMATS = Path(__file__).parent / "data" / "formats"


def test_a_fast_first_descent_is_not_a_blowup_at_the_first_log_line():
    """Lightning CSVLogger, an LSTM regression logged every 50 steps: 0.254, 0.120, 0.0018, 0.0012 ... 2.4e-5,
    never rising by more than 1.07x its running minimum. Its first value is 142x the next three, as a net
    blown up at its first log line and still coming down would be, but only 2.1x the second: a descent, not
    one blown-up point. It was FAIL DIV002 'rose to 142x its level ... training diverged'."""
    d = diagnose_paths([str(FORMATS / "lightning-fast-first-descent")])
    (report,) = d.runs
    assert report.metrics["train_loss"] == "train_loss"
    assert not [f for f in report.findings if f.pattern == "divergence"]
    assert report.status == "ok"
