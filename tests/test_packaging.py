"""The wheel ships the rule files inside the package, and an installed advisor finds them there."""
from __future__ import annotations

import subprocess
import sys
import zipfile

import pytest

from conftest import REPO


@pytest.mark.slow
def test_wheel_contains_rules_and_loads_them(tmp_path):
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"), str(REPO)],
        capture_output=True, text=True,
    )
    if build.returncode != 0:
        pytest.skip(f"cannot build a wheel here: {build.stderr.strip().splitlines()[-1:]}")
    (wheel,) = (tmp_path / "dist").glob("advisor-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    shipped = sorted(n for n in names if n.startswith("advisor/rules/") and n.endswith(".toml"))
    in_repo = sorted("advisor/rules/" + str(p.relative_to(REPO / "rules")) for p in (REPO / "rules").rglob("*.toml"))
    assert shipped == in_repo
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)], check=True)
    code = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "from advisor.engine import builtin_rules_dir, load_rules\n"
        "d = builtin_rules_dir(); assert str(d).startswith(sys.argv[1]), d\n"
        "from advisor.engine.sources import load_sources\n"
        "print(len(load_rules().rules), len(load_sources()))"
    )
    out = subprocess.run([sys.executable, "-c", code, str(target)], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    n_rules, n_sources = map(int, out.stdout.split())
    assert n_rules == len(in_repo) - 1 and n_sources > 0  # every rule file, and the sources registry
