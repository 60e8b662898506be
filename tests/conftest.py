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
