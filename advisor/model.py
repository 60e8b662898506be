"""The types that travel between the pipeline's stages.

discover -> RunSource -> ingest -> Run -> roles -> Curves -> signals -> Measurements
-> engine -> Finding -> report.  Each stage consumes the type of the stage before it and
nothing else, so a stage can be tested (and replaced) on its own.

Only numpy is imported here: `advisor --help` must stay fast, and pandas is needed only when a
caller asks a Run for its long table.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

# ----------------------------------------------------------------------------- ingest


@dataclass
class Series:
    """Every logged point of one scalar tag of one run, in log order; nothing is sampled.

    `value` keeps NaN and +/-inf as logged (a divergence is data, not noise to drop).
    `wall_time` is unix seconds, NaN where the format records none.
    """

    tag: str
    step: np.ndarray  # int64
    value: np.ndarray  # float64
    wall_time: np.ndarray  # float64

    def __post_init__(self) -> None:
        self.step = np.asarray(self.step, dtype=np.int64)
        self.value = np.asarray(self.value, dtype=np.float64)
        if self.wall_time is None:
            self.wall_time = np.full(len(self.step), np.nan)
        self.wall_time = np.asarray(self.wall_time, dtype=np.float64)
        if not (len(self.step) == len(self.value) == len(self.wall_time)):
            raise ValueError(f"series {self.tag!r}: step/value/wall_time lengths differ")

    def __len__(self) -> int:
        return len(self.step)


@dataclass
class RunSource:
    """A run found on disk, before it is read: which files make it and which reader reads it."""

    name: str  # as shown to the user (relative to the given path's parent when that was relative)
    path: Path  # the run's folder or file
    format: str  # "tensorboard" | "csv" | "wandb" | "hf-trainer" | "mlflow"
    files: list[Path] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)  # reader-specific hints from discovery


@dataclass
class Run:
    """One training run as read from its logs: scalar series plus what the log says about itself."""

    name: str
    path: str
    format: str
    series: dict[str, Series] = field(default_factory=dict)
    writer: str | None = None  # best guess of the program that wrote the log
    hparams: dict[str, Any] = field(default_factory=dict)  # flat: "lr" -> 0.1, "optimizer.name" -> "adam"
    warnings: list[str] = field(default_factory=list)  # readable-but-damaged input, one line each
    events: list[dict[str, Any]] = field(default_factory=list)  # e.g. {"kind": "restart", "step": 500}
    meta: dict[str, Any] = field(default_factory=dict)  # anything else worth showing (status, x-axis notes)
    dropped_points: int | None = None  # set by without_points(): how many points the series held

    @property
    def points(self) -> int:
        if self.dropped_points is not None:
            return self.dropped_points
        return sum(len(s) for s in self.series.values())

    def without_points(self) -> "Run":
        """This run's metadata without its series (their point count kept), for a report that
        no longer needs the points: a sweep's diagnosis keeps memory bounded this way."""
        return Run(name=self.name, path=self.path, format=self.format, series={}, writer=self.writer,
                   hparams=self.hparams, warnings=self.warnings, events=self.events, meta=self.meta,
                   dropped_points=self.points)

    def table(self):
        """The long table `tag, step, wall_time, value` (pandas), one row per logged point."""
        import pandas as pd

        if not self.series:
            return pd.DataFrame(
                {
                    "tag": pd.Categorical([]),
                    "step": np.array([], np.int64),
                    "wall_time": np.array([], np.float64),
                    "value": np.array([], np.float64),
                }
            )
        tags = list(self.series)
        lengths = [len(self.series[t]) for t in tags]
        codes = np.repeat(np.arange(len(tags), dtype=np.int32), lengths)
        return pd.DataFrame(
            {
                "tag": pd.Categorical.from_codes(codes, categories=tags),
                "step": np.concatenate([self.series[t].step for t in tags]),
                "wall_time": np.concatenate([self.series[t].wall_time for t in tags]),
                "value": np.concatenate([self.series[t].value for t in tags]),
            }
        )


class IngestError(Exception):
    """A file that cannot be read at all. The message is one line naming the file and the reason."""


# ----------------------------------------------------------------------------- roles


@dataclass
class Curve:
    """One metric of a run on the x-axis chosen for it, ready for measurement."""

    role: str  # "train_loss", "val_loss", "lr", ...
    tag: str  # the tag it came from
    x: np.ndarray  # float64, sorted ascending, one value per point (duplicates resolved)
    y: np.ndarray  # float64, NaN/inf kept
    x_kind: str = "step"  # "step" | "epoch" | "wall_time" | "index"
    # the step each point was logged at, when several points logged at one step had to be spread
    # inside it (x 2, 2.333, 2.667 for three batch losses at epoch 2); None when x is as logged
    logged_x: np.ndarray | None = None
    # each point is a mean over the steps since the last one (Keras' and Lightning's epoch loss,
    # HF's logged loss), not one minibatch's loss; an epoch-level curve always is
    averaged: bool = False
    # how the log wrote this curve, when not as its role's quantity: "ln" when it logged exp(loss)
    # (a perplexity), "square" when it logged sqrt(loss) (an RMSE), "complement" / "complement_pct"
    # when it logged an error rate for an accuracy; y then holds the loss (the accuracy) and
    # `label` names it so
    scale: str = ""

    def __len__(self) -> int:
        return len(self.x)

    @property
    def label(self) -> str:
        """The quantity y holds, as a reader should see it named: the tag, or ln(tag), tag²,
        1 - tag, 100 - tag (see `scale`)."""
        return {"ln": f"ln({self.tag})", "square": f"{self.tag}²", "complement": f"1 - {self.tag}",
                "complement_pct": f"100 - {self.tag}"}.get(self.scale, self.tag)


class UnloggedTail(NamedTuple):
    """The steps a log ran after its last logged training loss, and their mean loss, read from a run
    summary that averages the loss over every step (the HF Trainer's final `train_loss`)."""

    last_logged_step: float
    final_step: float
    mean: float  # the mean loss of the steps after the last log (NaN/inf when the run's mean is)
    run_mean: float  # the summary: the mean over the whole run


@dataclass
class Curves:
    """The curves of one run keyed by role, plus the facts rules may need (hparams, epochs)."""

    run: str
    by_role: dict[str, Curve] = field(default_factory=dict)
    hparams: dict[str, Any] = field(default_factory=dict)  # normalised: lr, batch_size, optimizer, ...
    steps_per_epoch: float | None = None
    num_classes: int | None = None
    comparable_losses: bool = True  # train and val loss measure the same thing (not nll vs rmse)
    higher_is_better: dict[str, bool] = field(default_factory=dict)  # per metric role (wer: False)
    rl: bool = False  # a reinforcement-learning run (reward, policy/value losses): only RL rules judge it
    step_unit: str = "step"  # what a logged step counts: "timestep" for SB3 (advisor.units.step_unit)
    unlogged_tail: UnloggedTail | None = None  # the training loss after its last log (advisor.roles.unlogged_tail)

    def get(self, role: str) -> Curve | None:
        return self.by_role.get(role)


# ----------------------------------------------------------------------------- signals


@dataclass
class Measurement:
    """One family of signal measured on one curve, with the evidence a reader can check.

    `values` holds the named statistics rules refer to as "<family>.<key>" (e.g.
    "oscillation.rel_amplitude"); every key a family can emit is declared in
    advisor.signals.REGISTRY so rules can be checked against it.
    """

    family: str  # "divergence" | "oscillation" | "plateau" | ...
    role: str
    tag: str
    detected: bool
    values: dict[str, Any] = field(default_factory=dict)
    start_step: float | None = None
    end_step: float | None = None
    confidence: float = 0.0
    note: str = ""  # one plain sentence: what was seen


# ----------------------------------------------------------------------------- engine / report


@dataclass
class Recommendation:
    action: str  # one of the action ids in DESIGN.md
    change: dict[str, Any]  # e.g. {"lr": {"multiply": 0.33}} or {"lr": {"set": 0.03}}
    text: str
    source: str


@dataclass
class Finding:
    rule: str
    pattern: str
    severity: str  # "info" | "warning" | "error"
    metric: str | None  # the tag the finding is about
    start_step: float | None
    end_step: float | None
    summary: str
    evidence: dict[str, Any] = field(default_factory=dict)
    recommendations: list[Recommendation] = field(default_factory=list)
    x_unit: str = "step"  # what start_step/end_step count: step, epoch, timestep, ... (advisor.units)


SEVERITIES = ("info", "warning", "error")


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity)


@dataclass
class Verification:
    """The outcome of a short fix trial (see advisor.verify)."""

    verdict: str  # "confirmed" | "refuted" | "inconclusive" | "not-reproduced"
    rule: str
    action: str
    change: dict[str, Any]
    measure: str  # what was compared, e.g. "oscillation.rel_amplitude on train_loss"
    baseline: list[float]  # per seed
    fix: list[float]  # per seed
    effect: dict[str, float] = field(default_factory=dict)  # e.g. {"ratio": 0.4, "cohens_d": -2.1}
    steps: int = 0
    seeds: int = 0
    device: str = "cpu"
    wall_s: float = 0.0
    notes: list[str] = field(default_factory=list)
    confidence: float | None = None  # how sure the verdict is (advisor.verify.sequential), None: not assessed
    compute: dict[str, Any] = field(default_factory=dict)  # trial steps, original steps, ratio, failed trials


@dataclass
class RunReport:
    """Everything the renderers show about one run; no renderer computes anything itself."""

    run: Run
    metrics: dict[str, str]  # role -> tag
    findings: list[Finding] = field(default_factory=list)
    abstentions: list[tuple[str, str]] = field(default_factory=list)  # (rule id, why it abstained)
    verification: list[Verification] | None = None
    curves: Curves | None = None
    measurements: Any = None  # advisor.signals.Measurements, for --verbose and the HTML report
    error: str | None = None  # a rule/signal crash for this run
    read_error: str | None = None  # the run was found but nothing in it could be decoded
    log_file: str | None = None  # the run's (first) log file: where CI annotations point

    @property
    def status(self) -> str:
        """`unreadable` (nothing decoded), `error` (the analysis crashed), `empty` (readable, no
        scalar point: a training that crashed before it logged), else by the worst finding."""
        if self.read_error:
            return "unreadable"
        if self.error:
            return "error"
        # (Lightning's hp_metric = -1, logged before any metric, is no data: advisor.ingest.tensorboard)
        data_points = self.run.points - int((self.run.meta or {}).get("placeholder_points", 0))
        if data_points <= 0 and not (self.curves and any(len(c) for c in self.curves.by_role.values())):
            return "empty"
        worst = max((severity_rank(f.severity) for f in self.findings), default=-1)
        return {-1: "ok", 0: "ok", 1: "warn", 2: "fail"}[worst]

    @property
    def problem(self) -> str | None:
        """Why this run could not be judged, in one line, or None when it was."""
        status = self.status
        if status == "unreadable":
            return f"could not be read: {self.read_error}"
        if status == "error":
            return f"analysis failed: {self.error}"
        if status == "empty":
            return "empty: no scalar points in the log (did the training stop before its first log?)"
        return None


@dataclass
class Diagnosis:
    """The report object: every run's findings plus the inputs that could not be used."""

    runs: list[RunReport] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)  # {"path": ..., "message": ...}
    rules: list[Any] = field(default_factory=list)  # the rules applied (advisor.engine.rulefile.Rule), for SARIF
