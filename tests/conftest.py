"""Shared test fixtures: where the real logs and the bundled fixtures live."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "fixtures"
SHARED = Path(os.environ.get("ADVISOR_SHARED", REPO.parent / "shared"))
REAL_LOGS = SHARED / "real-logs"


def real_manifest() -> list[dict]:
    path = REAL_LOGS / "manifest.json"
    if not path.exists():
        return []
    return json.loads(path.read_text())


@pytest.fixture(scope="session")
def real_logs() -> Path:
    if not REAL_LOGS.exists():
        pytest.skip(f"real logs not found at {REAL_LOGS} (set ADVISOR_SHARED)")
    return REAL_LOGS


def assert_matches_manifest(series, entry: dict) -> None:
    """The series read from one real-log folder carry exactly what manifest.json lists for it:
    series count, points, the longest series and the x range."""
    import numpy as np

    series = list(series.values()) if isinstance(series, dict) else list(series)
    assert len(series) == entry["scalar_series"]
    assert sum(len(s) for s in series) == entry["points"]
    if series:
        assert max(len(s) for s in series) == entry["max_points_per_series"]
        steps = np.concatenate([s.step for s in series])
        assert [steps.min(), steps.max()] == entry["x_range"]
