"""The contract with a new user and with CI: README's commands are the ones CI runs, trainings are
rerun under a second CPU kernel setting, warnings from advisor's own code fail the tests."""
from __future__ import annotations

import re
import warnings

import pytest

from conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")
CI = (REPO / ".ci" / "run").read_text(encoding="utf-8")


def _readme_command(number: int) -> str:
    block = README.split("```bash", 1)[1].split("```", 1)[0]
    lines = block.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith(f"# {number}."))
    return next(line for line in lines[at + 1:] if line.strip() and not line.startswith("#"))


def test_readme_starts_with_a_venv_and_installs_torch_cpu():
    assert _readme_command(0).startswith("python3 -m venv ")
    torch_line = _readme_command(2)
    assert "torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu" in torch_line
    assert "CUDA build" in README  # and it says why
    assert "from this machine's disk" not in README


def test_ci_runs_the_readme_test_command_verbatim():
    assert _readme_command(2) in CI.splitlines()


def _kernels_after(first: str) -> list[str]:
    """What .ci/run's own `kernels_after` picks after a first run under `first`."""
    import subprocess

    func = re.search(r"^kernels_after\(\) \{.*?^\}", CI, re.S | re.M).group(0)
    out = subprocess.run(["bash", "-c", f'{func}\nkernels_after "$1"', "_", first],
                         capture_output=True, text=True, check=True).stdout
    return out.split()


def test_ci_reruns_the_tests_that_train_under_default_and_avx2():
    """Issue 13: trainings and the demo must hold under ATEN_CPU_CAPABILITY=default AND =avx2; on an
    AVX-512 machine the old script reran under avx2 only, so `default` was never exercised."""
    rerun = [line for line in CI.splitlines() if "-m trains" in line]
    assert rerun and all("ATEN_CPU_CAPABILITY=$cap" in line for line in rerun)
    assert _kernels_after("avx512") == ["default", "avx2"]
    assert _kernels_after("avx2") == ["default"]
    assert _kernels_after("default") == ["avx2"]
    assert 'for cap in "$first" $others; do' in CI and "advisor demo" in CI


def test_readme_says_what_each_skipped_test_needs():
    for need in ("ADVISOR_SHARED", "Chromium", "CUDA"):
        assert need in README.split("## What it reads")[0], need


def test_warnings_from_advisor_code_fail_the_tests():
    """pyproject's filterwarnings: a warning raised in an advisor module is an error."""
    code = compile("import warnings\nwarnings.warn('from advisor', UserWarning)\n", "advisor/x.py", "exec")
    with pytest.raises(UserWarning):
        exec(code, {"__name__": "advisor.x"})
    with warnings.catch_warnings(record=True):  # and third-party code still only warns
        exec(compile("import warnings\nwarnings.warn('tp', UserWarning)\n", "x.py", "exec"), {"__name__": "thirdparty"})
