"""Every output format names the run's own unit and prints steps as logged (issue 9, item 5).

The HTML report said "epochs 14–49" while the terminal, Markdown, JUnit, GitHub and SARIF
reports said "steps 14–49" for the same finding, an SB3 run's range was in "steps" although its
x is environment timesteps, and summaries printed steps no log holds ("flat from step 9 to
1,054" on a log that evaluates every 50 steps, "plateau.end_step=14.5"). Each test here runs on
real logs through the real CLI (which drops the curves before rendering, as it does for users).
"""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from click.testing import CliRunner

from advisor import units
from advisor.cli import main
from advisor.pipeline import diagnose_paths
from advisor.report import RenderOptions, render

from conftest import FIXTURES

# (real-log folder, the worst finding's range as every format must print it, a phrase of its summary)
CASES = {
    "epoch-csv": ("csv/yolov5-results-exp-modified", "epochs 0–149", "after epoch 0"),
    "epoch-tb": ("tensorboard/yolov5-tb-exp-modified-valloss-rises", "epochs 0–149", "after epoch 0"),
    "sb3-timesteps": ("tensorboard/sb3-ppo-dead-and-empty/logs/PPO_6", "timesteps 50–6,550", "stays at -100"),
    "step-tb": ("tensorboard/lightning-tb-memorization-overfit", "steps 9–1,049", "from step 9 to 1,049"),
}
FILES = {"text": "advisor.txt", "markdown": "advisor.md", "github": "advisor.github.txt",
         "junit": "advisor.junit.xml", "sarif": "advisor.sarif", "html": "advisor.html",
         "json": "advisor.json", "gitlab": "advisor.gitlab.json"}


@pytest.fixture(scope="module")
def outputs(real_logs, tmp_path_factory):
    """Each case's log diagnosed once by `advisor diagnose --output-dir`, every format at once."""
    out = {}
    for case, (folder, _, _) in CASES.items():
        d = tmp_path_factory.mktemp(case)
        args = ["diagnose", str(real_logs / folder), "-q", "--fail-on", "never", "--output-dir", str(d)]
        for fmt in FILES:
            args += ["--format", fmt]
        res = CliRunner().invoke(main, args)
        assert res.exit_code == 0, res.output
        out[case] = {fmt: (d / name).read_text(encoding="utf-8") for fmt, name in FILES.items()}
    return out


def _visible(fmt: str, text: str) -> str:
    """What a reader sees of the document: the messages of the XML/JSON formats, decoded."""
    if fmt == "github":
        return text.replace("%0A", "\n").replace("%25", "%")
    if fmt == "junit":
        root = ET.fromstring(text.encode())
        return "\n".join([e.text or "" for e in root.iter()] + [e.get("message") or "" for e in root.iter()])
    if fmt == "sarif":
        return "\n".join(r["message"]["text"] for r in json.loads(text)["runs"][0]["results"])
    if fmt == "gitlab":
        return "\n".join(i["description"] for i in json.loads(text))
    if fmt == "json":
        return "\n".join(f["summary"] for r in json.loads(text)["runs"] for f in r["findings"])
    if fmt == "markdown":
        return text.replace("\\", "")
    return text


@pytest.mark.parametrize("fmt", list(FILES))
@pytest.mark.parametrize("case", list(CASES))
def test_every_format_names_the_runs_unit(outputs, case, fmt):
    """`steps 0–149` for a YOLOv5 log that counts epochs, `steps 50–6,550` for an SB3 run that
    counts environment timesteps: the range and the summary name the unit the log counts."""
    _, span, phrase = CASES[case]
    seen = _visible(fmt, outputs[case][fmt])
    if fmt not in ("json", "gitlab"):  # those carry the summary, not the range (JSON has start_step/end_step)
        assert span in seen, (case, fmt)
        wrong = {"epoch": "steps", "timestep": "steps", "step": "epochs"}[span.split()[0].rstrip("s")]
        assert not re.search(rf"(?<![\w-]){wrong} {re.escape(span.split()[1])}", seen), (case, fmt)
    assert phrase in seen, (case, fmt)


def test_json_keeps_its_contract_and_gives_logged_steps(outputs):
    """The JSON contract (DESIGN.md) is unchanged: the same keys, start_step/end_step as numbers;
    they are steps the log holds, in its own unit."""
    for case in CASES:
        doc = json.loads(outputs[case]["json"])
        for f in (f for r in doc["runs"] for f in r["findings"]):
            assert set(f) == {"rule", "pattern", "severity", "metric", "start_step", "end_step", "summary",
                              "evidence", "recommendations"}, case
    step_tb = json.loads(outputs["step-tb"]["json"])["runs"][0]
    plateau = next(f for f in step_tb["findings"] if f["rule"] == "PLT002")
    assert (plateau["start_step"], plateau["end_step"]) == (9, 1049)
    assert plateau["evidence"]["plateau.end_step"] == 1049  # 1,054 before: a step the log never wrote


# ----------------------------------------------------------------------------- the sweep


@pytest.fixture(scope="module")
def diagnoses(real_logs):
    return {"real-logs": diagnose_paths([str(real_logs)]), "fixtures": diagnose_paths([str(FIXTURES)])}


def _logged_steps(report, tag):
    s = report.run.series.get(tag)
    return None if s is None else set(np.asarray(s.step, dtype=float).tolist())


def test_every_step_a_finding_names_is_logged_in_its_unit(diagnoses):
    """A finding's range, its `*_step` evidence and every "at step/epoch N" of its summary are
    steps the log holds, named in the unit the finding's curve counts: "flat from step 9 to
    1,054" (a smoothed turning point between two evaluations), "plateau.end_step=14.5" on an
    epoch log, "at step 0" on a YOLOv5 log that counts epochs."""
    checked = 0
    word = re.compile(r"\b(step|epoch|timestep|second|point)s? (-?\d[\d,]*(?:\.\d+)?)")
    for where, d in diagnoses.items():
        for r in d.runs:
            for f in r.findings:
                curve = next((c for c in r.curves.by_role.values() if c.tag == f.metric), None)
                if curve is not None:
                    assert f.x_unit == units.unit_of(curve.x_kind, units.step_unit(r.run)), (r.run.name, f.rule)
                steps = _logged_steps(r, f.metric)
                if steps is None or f.x_unit in ("second", "point"):
                    continue
                named = [f.start_step, f.end_step] + [v for k, v in f.evidence.items() if k.endswith("_step")]
                for m in word.finditer(f.summary):
                    assert m.group(1) == units.name(f.x_unit), (r.run.name, f.rule, f.summary)
                    named.append(float(m.group(2).replace(",", "")))
                for x in named:
                    if x is not None:
                        assert float(x) in steps, (where, r.run.name, f.rule, x, f.summary)
                        checked += 1
    assert checked > 80


_FRACTION_AS_SHARE = re.compile(r"(?<![\d.,])0\.\d+x? (?:of the|of its|the top)")
_FRACTIONAL_STEP = re.compile(r"\b(?:steps?|epochs?|timesteps?)\s+-?\d[\d,]*\.\d")


@pytest.mark.parametrize("fmt", ["text", "markdown", "github", "junit", "sarif", "gitlab", "json"])
def test_no_wording_fault_in_any_format(diagnoses, fmt):
    """Issue 9's wording faults, in everything advisor prints for the fixtures and the real logs:
    a share written as a bare fraction ("0.403 of the run", "slope 0.16 of the total drop",
    "0.00458x the top of the usual range"), fractional steps ("steps 2.172–6.828"), an unfilled
    placeholder ("(?x the start)"), "1 points"."""
    for where, d in diagnoses.items():
        text = render(d, fmt, RenderOptions(fail_on="never"))
        for pattern in (_FRACTION_AS_SHARE, _FRACTIONAL_STEP, re.compile(r"\(\?|\?x\b|\b1 points\b")):
            bad = pattern.findall(text)
            assert not bad, (where, fmt, bad[:3])


def test_units_module_names_each_kind():
    from advisor.model import Run

    sb3 = Run(name="r", path="r", format="tensorboard", writer="sb3")
    csv_sb3 = Run(name="r", path="r", format="csv", meta={"x_axis": "time/total_timesteps"})
    yolo = Run(name="r", path="r", format="tensorboard", writer="yolov5")
    plain = Run(name="r", path="r", format="tensorboard")
    assert [units.step_unit(r) for r in (sb3, csv_sb3, yolo, plain)] == ["timestep", "timestep", "step", "step"]
    assert units.counts_epochs(yolo) and not units.counts_epochs(plain)
    assert units.counts_epochs(Run(name="r", path="r", format="csv", meta={"x_axis": "Epoch"}))
    assert [units.unit_of(k, "timestep") for k in ("step", "epoch", "wall_time", "index")] == \
        ["timestep", "epoch", "second", "point"]
    assert units.name("epoch", plural=True) == "epochs" and units.axis_label("timestep") == "environment timesteps"


def test_run_length_advice_counts_what_the_log_counts(diagnoses, real_logs):
    """`train_longer: max_steps ×2` on a Keras history that counts epochs, `max_steps → 12,800` to
    stop an SB3 run whose x is environment timesteps: a run length in the wrong unit."""
    from advisor.engine import load_rules, select_rules
    from advisor.pipeline import DiagnoseOptions, diagnose_run, read_runs

    length_keys = {"max_steps", "epochs", "total_timesteps"}
    want = {"epoch": "epochs", "timestep": "total_timesteps", "step": "max_steps"}
    seen = set()
    for d in diagnoses.values():
        for r in d.runs:
            for f in r.findings:
                for rec in f.recommendations:
                    for key in set(rec.change) & length_keys:
                        assert key == want[f.x_unit], (r.run.name, f.rule, rec.action, rec.change)
                        seen.add((key, rec.action))
    slow = next(r for r in diagnoses["fixtures"].runs if r.run.name.endswith("slow-keras-json/history.json"))
    assert next(rec.change for f in slow.findings for rec in f.recommendations if rec.action == "train_longer") \
        == {"epochs": {"multiply": 2}}
    assert {("epochs", "early_stop"), ("max_steps", "early_stop"), ("max_steps", "train_longer")} <= seen

    # A real SB3 log whose reward is made to collapse after 55% of the run: RL002 stops it in timesteps.
    runs, _ = read_runs([str(real_logs / "tensorboard" / "sb3-ppo-learning-spiky")])
    reward = runs[0].series["rollout/ep_rew_mean"]
    k = int(len(reward) * 0.55)
    reward.value[k:] = np.linspace(reward.value[k], reward.value[0], len(reward) - k)
    report = diagnose_run(runs[0], select_rules(load_rules()), DiagnoseOptions())
    collapse = next(f for f in report.findings if f.rule == "RL002")
    stop = next(rec.change for rec in collapse.recommendations if rec.action == "early_stop")
    assert list(stop) == ["total_timesteps"] and stop["total_timesteps"]["set"] in set(reward.step.tolist())
    assert f"at timestep {stop['total_timesteps']['set']:,}" in collapse.summary


def test_logged_values_in_the_evidence_are_the_logged_numbers(diagnoses):
    """`stats.min=2,234,090,000` next to a summary saying 2,234,085,120: evidence rounded to 6
    digits printed a number the log never held, with every digit shown as if exact."""
    checked = 0
    for d in diagnoses.values():
        for r in d.runs:
            for f in r.findings:
                s = r.run.series.get(f.metric)
                for key in ("stats.min", "stats.max", "stats.first", "stats.last"):
                    v = f.evidence.get(key)
                    if s is None or not isinstance(v, float) or abs(v) < 1e5:
                        continue
                    assert v in set(s.value.tolist()), (r.run.name, f.rule, key, v)
                    checked += 1
    assert checked >= 2  # the exploding deep-linear Lightning run's min and max at least
    text = render(diagnoses["real-logs"], "text")
    assert "stats.min=2,234,085,120" in text and "2,234,090,000" not in text


def test_watch_names_the_runs_unit(real_logs):
    """`advisor watch` said "from step 0 (seen at step 149)" on a YOLOv5 log that counts epochs, and
    wrote steps with `:g` (1,234,567 as "1.23457e+06"); its JSON events now carry `x_unit`."""
    from advisor.live.cli import _step

    folders = {"epoch": "csv/yolov5-results-exp-modified", "timestep": "tensorboard/sb3-ppo-dead-and-empty/logs/PPO_6",
               "step": "tensorboard/lightning-tb-memorization-overfit"}
    res = CliRunner().invoke(main, ["watch", "--once", *(str(real_logs / f) for f in folders.values())])
    lines = res.output.splitlines()
    for unit, folder in folders.items():
        mine = [ln for ln in lines if folder.split("/")[1] in ln]
        assert mine and all(f" at {unit} " in ln for ln in mine), (unit, mine)
    assert any("from epoch 0 (seen at epoch 149)" in ln for ln in lines), lines
    assert "at timestep 6,550, 1,572 points" in res.output
    events = [json.loads(ln) for ln in CliRunner().invoke(
        main, ["watch", "--once", "--format", "json", str(real_logs / folders["timestep"])]).output.splitlines()]
    assert {e["x_unit"] for e in events if e["event"] in ("status", "finding")} == {"timestep"}
    assert _step(1234567.0) == "1,234,567"
