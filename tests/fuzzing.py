"""Fuzzing the readers: mutation operators over real logs and fixtures, and a sandbox to run them in.

Used twice: tests/test_fuzz.py runs a small seeded sample on every CI run, bench/fuzz.py runs the
full campaign (>= 10,000 mutated files) on demand. One case = one run folder copied to a scratch
folder, one of its log files mutated by one operator, then `advisor diagnose --format json` run on it
in a forked child under a memory cap (resource.setrlimit) and a timeout. Each case records the exit
code, whether a traceback escaped, the child's peak RSS, and the runs and errors it reported.

The oracle (what must hold for every case):
- no traceback, no hang past the timeout, peak memory under the cap;
- a seed whose unmutated copy fails the gate (exit 1) still fails it after a one-value mutation
  unless its run was still read and diagnosed (a value can legitimately remove the symptom; a
  corrupted value must never *lose* the run and pass the gate by silence);
- unmutated controls read with their exact point counts, whenever they are re-run.
"""
from __future__ import annotations

import json
import os
import random
import re
import resource
import shutil
import signal
import sqlite3
import struct
import sys
import tempfile
import time
import traceback
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
LOG_SUFFIXES = {".csv", ".tsv", ".log", ".txt", ".json", ".jsonl", ".yaml", ".yml", ".db", ".wandb"}

# ----------------------------------------------------------------------------- operators

Op = Callable[[bytes, random.Random], bytes | None]
OPERATORS: dict[str, Op] = {}
ONE_VALUE: set[str] = set()  # operators that corrupt exactly one value (the exit-code oracle applies)


def operator(name: str, one_value: bool = False):
    def register(fn: Op) -> Op:
        OPERATORS[name] = fn
        if one_value:
            ONE_VALUE.add(name)
        return fn
    return register


def _pos(data: bytes, rng: random.Random) -> int:
    return rng.randrange(len(data)) if data else 0


@operator("bitflip")
def _bitflip(data, rng):
    if not data:
        return None
    b = bytearray(data)
    i = _pos(data, rng)
    b[i] ^= 1 << rng.randrange(8)
    return bytes(b)


@operator("byte-0xb4")
def _byte_b4(data, rng):
    if not data:
        return None
    b = bytearray(data)
    b[_pos(data, rng)] = 0xB4
    return bytes(b)


@operator("random-bytes-16")
def _random16(data, rng):
    if not data:
        return None
    b = bytearray(data)
    i = _pos(data, rng)
    b[i:i + 16] = rng.randbytes(16)
    return bytes(b)


@operator("truncate")
def _truncate(data, rng):
    return data[:_pos(data, rng)] if data else None


@operator("truncate-last-byte")
def _truncate_1(data, rng):
    return data[:-1] if data else None


@operator("empty")
def _empty(data, rng):
    return b""


@operator("zero-block")
def _zero_block(data, rng):
    if not data:
        return None
    i, n = _pos(data, rng), rng.choice([8, 64, 4096])
    return data[:i] + bytes(min(n, len(data) - i)) + data[i + n:]


@operator("insert-zeros-1m")
def _insert_zeros(data, rng):
    i = _pos(data, rng)
    return data[:i] + bytes(1 << 20) + data[i:]


@operator("delete-block")
def _delete_block(data, rng):
    if not data:
        return None
    i = _pos(data, rng)
    return data[:i] + data[i + rng.choice([1, 13, 512]):]


@operator("duplicate-block")
def _dup_block(data, rng):
    if not data:
        return None
    i = _pos(data, rng)
    return data[:i] + data[i:i + 700] + data[i:]


@operator("garbage-prefix")
def _garbage_prefix(data, rng):
    return rng.randbytes(rng.choice([1, 7, 100])) + data


@operator("garbage-suffix")
def _garbage_suffix(data, rng):
    return data + rng.randbytes(rng.choice([1, 7, 100]))


@operator("random-file")
def _random_file(data, rng):
    return rng.randbytes(max(1, len(data)))


@operator("repeat-x20")
def _repeat(data, rng):
    return data * 20 if len(data) < (4 << 20) else None


@operator("nul-insert")
def _nul(data, rng):
    i = _pos(data, rng)
    return data[:i] + b"\x00" + data[i:]


@operator("terminal-escapes")
def _escapes(data, rng):
    i = _pos(data, rng)
    return data[:i] + rng.choice([b"\x1b]0;pwned\x07", b"\x1b[2J", "\u009b31m".encode(), "\u202e".encode()]) + data[i:]


# --- text-level: one value

_NUMBER = re.compile(rb"(?<![\w.])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.])")
HOSTILE_NUMBERS = {
    "1e308": b"1e308", "-1e308": b"-1e308", "nan": b"NaN", "inf": b"Infinity", "-inf": b"-inf",
    "2^63": str(2**63).encode(), "2^64+7": str(2**64 + 7).encode(), "-2^63-1": str(-(2**63) - 1).encode(),
    "400-digits": b"9" * 400, "5000-digits": b"7" * 5000, "1e400": b"1e400", "text": b"abc", "empty": b"",
    "quote": b'"', "neg-zero": b"-0.0", "tiny": b"4.9e-324",
}


def _replace_one_number(replacement: bytes):
    def op(data, rng):
        matches = list(_NUMBER.finditer(data[: 8 << 20]))
        if not matches:
            return None
        m = rng.choice(matches)
        return data[:m.start()] + replacement + data[m.end():]
    return op


for _name, _value in HOSTILE_NUMBERS.items():
    operator(f"number->{_name}", one_value=True)(_replace_one_number(_value))


def _lines(data: bytes) -> list[bytes] | None:
    lines = data.split(b"\n")
    return lines if len(lines) > 2 else None


@operator("line-delete")
def _line_delete(data, rng):
    lines = _lines(data)
    if not lines:
        return None
    del lines[rng.randrange(len(lines))]
    return b"\n".join(lines)


@operator("line-duplicate")
def _line_dup(data, rng):
    lines = _lines(data)
    if not lines:
        return None
    i = rng.randrange(len(lines))
    lines.insert(i, lines[i])
    return b"\n".join(lines)


@operator("line-swap")
def _line_swap(data, rng):
    lines = _lines(data)
    if not lines:
        return None
    i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
    lines[i], lines[j] = lines[j], lines[i]
    return b"\n".join(lines)


@operator("header-repeat")
def _header_repeat(data, rng):
    lines = _lines(data)
    if not lines:
        return None
    lines.insert(rng.randrange(1, len(lines)), lines[0])
    return b"\n".join(lines)


@operator("long-field-200k")
def _long_field(data, rng):
    lines = _lines(data)
    if not lines:
        return None
    i = rng.randrange(len(lines))
    lines[i] = lines[i] + b',"' + b"x" * 200_000 + b'"'
    return b"\n".join(lines)


@operator("long-line-20m")
def _long_line(data, rng):
    i = _pos(data, rng)
    return data[:i] + b"y" * (20 << 20) + data[i:]


@operator("quoted-newline")
def _quoted_newline(data, rng):
    i = _pos(data, rng)
    return data[:i] + b'"a\nb"' + data[i:]


@operator("unterminated-quote")
def _open_quote(data, rng):
    i = _pos(data, rng)
    return data[:i] + b'"' + data[i:]


@operator("extra-field")
def _extra_field(data, rng):
    lines = _lines(data)
    if not lines:
        return None
    i = rng.randrange(len(lines))
    lines[i] += b",1,2"
    return b"\n".join(lines)


@operator("crlf")
def _crlf(data, rng):
    return data.replace(b"\n", b"\r\n")


@operator("bare-cr")
def _cr(data, rng):
    return data.replace(b"\n", b"\r")


@operator("bom")
def _bom(data, rng):
    return b"\xef\xbb\xbf" + data


@operator("utf16")
def _utf16(data, rng):
    try:
        return data.decode("utf-8").encode("utf-16")
    except UnicodeDecodeError:
        return None


@operator("deep-json-100k")
def _deep_json(data, rng):
    matches = list(_NUMBER.finditer(data[: 8 << 20]))
    if not matches:
        return None
    m = rng.choice(matches)
    return data[:m.start()] + b"[" * 100_000 + b"]" * 100_000 + data[m.end():]


@operator("yaml-billion-laughs")
def _laughs(data, rng):
    bomb = "a: &a {" + ", ".join(f"k{i}: lol" for i in range(9)) + "}\n" + "".join(
        f"{b}: &{b} {{" + ", ".join(f"k{i}: *{a}" for i in range(9)) + "}\n" for a, b in zip("abcdefgh", "bcdefghi"))
    return bomb.encode()


@operator("yaml-recursive-alias")
def _yaml_recursive(data, rng):
    return b"a: &a [*a]\nlr: 0.1\n"


@operator("json-huge-array")
def _json_array(data, rng):
    return b'{"loss": [' + b"1.0," * 2_000_000 + b'1.0]}'


# --- binary-aware

@operator("tfrecord-huge-length")
def _tf_length(data, rng):
    if len(data) < 12:
        return None
    return struct.pack("<Q", rng.choice([2**63, 2**40, 2**64 - 1])) + data[8:]


@operator("tfrecord-crc")
def _tf_crc(data, rng):
    if len(data) < 12:
        return None
    b = bytearray(data)
    b[8] ^= 0xFF
    return bytes(b)


SQL_MUTATIONS = [
    "UPDATE metrics SET value = 'text' WHERE rowid = (SELECT rowid FROM metrics ORDER BY random() LIMIT 1)",
    "UPDATE metrics SET value = x'00ff' WHERE rowid = (SELECT rowid FROM metrics ORDER BY random() LIMIT 1)",
    "UPDATE metrics SET key = CAST(key AS BLOB) WHERE rowid = (SELECT rowid FROM metrics ORDER BY random() LIMIT 1)",
    "UPDATE metrics SET step = 9.3e18 WHERE rowid = (SELECT rowid FROM metrics ORDER BY random() LIMIT 1)",
    "UPDATE metrics SET step = 'x' WHERE rowid = (SELECT rowid FROM metrics ORDER BY random() LIMIT 1)",
    "UPDATE metrics SET timestamp = 'never' WHERE rowid = (SELECT rowid FROM metrics ORDER BY random() LIMIT 1)",
    "UPDATE params SET value = '1e308' WHERE rowid = (SELECT rowid FROM params ORDER BY random() LIMIT 1)",
    "UPDATE runs SET name = x'1b5d303b70776e6564' WHERE rowid = (SELECT rowid FROM runs LIMIT 1)",
    "DROP TABLE params",
]


@operator("sqlite-cell", one_value=True)
def _sqlite_cell(data, rng):
    if not data.startswith(b"SQLite format 3\x00"):
        return None
    with tempfile.NamedTemporaryFile(suffix=".db", delete=False) as fh:
        fh.write(data)
    try:
        with sqlite3.connect(fh.name) as con:
            con.execute("PRAGMA journal_mode=DELETE")
            con.execute(rng.choice(SQL_MUTATIONS))
        return Path(fh.name).read_bytes()
    except sqlite3.Error:
        return None
    finally:
        os.unlink(fh.name)


# ----------------------------------------------------------------------------- seeds and cases


@dataclass
class Seed:
    """A run folder (or a single-file run) to copy and mutate, with what its files are."""

    name: str
    path: Path
    files: list[Path]  # mutable log files, relative to `path` (or [name] for a single file)


def seeds(roots: list[Path], max_bytes: int = 4 << 20) -> list[Seed]:
    """Every fixture run folder and real-log folder, with the log-like files worth mutating."""
    out = []
    for root in roots:
        if not root.exists():
            continue
        # a log file directly under a root is a run of its own (fixtures/mlflow/mlflow.db, the
        # SQLite store: without it the sqlite-cell operator never had a file to apply to)
        for single in sorted(p for p in root.iterdir() if p.is_file() and not p.is_symlink()
                             and p.suffix.lower() in LOG_SUFFIXES and p.stat().st_size <= max_bytes):
            out.append(Seed(f"{root.name}/{single.name}", single, [Path(single.name)]))
        for folder in sorted(p for p in root.iterdir() if p.is_dir()):
            files = [p.relative_to(folder) for p in sorted(folder.rglob("*"))
                     if p.is_file() and not p.is_symlink() and p.stat().st_size <= max_bytes
                     and (p.suffix.lower() in LOG_SUFFIXES or "tfevents" in p.name or p.parent.name in
                          ("metrics", "params", "tags"))]
            if files:
                out.append(Seed(f"{root.name}/{folder.name}", folder, files))
    return out


def default_roots() -> list[Path]:
    shared = Path(os.environ.get("ADVISOR_SHARED", REPO.parent / "shared"))
    real = shared / "real-logs"
    roots = [REPO / "fixtures" / "runs", REPO / "fixtures" / "csv", REPO / "fixtures" / "wandb",
             REPO / "fixtures" / "tensorboard", REPO / "fixtures" / "hf", REPO / "fixtures" / "mlflow"]
    if real.exists():
        roots += [d for d in sorted(real.iterdir()) if d.is_dir()]
    return roots


@dataclass
class Case:
    seed: Seed
    file: Path
    op: str
    index: int


def plan(all_seeds: list[Seed], count: int, seed: int = 14) -> list[Case]:
    """`count` cases drawn with a seeded generator: every operator and every seed get used."""
    rng = random.Random(seed)
    ops = sorted(OPERATORS)
    cases = []
    for i in range(count):
        s = all_seeds[i % len(all_seeds)]
        cases.append(Case(s, rng.choice(s.files), ops[(i * 7 + rng.randrange(3)) % len(ops)], i))
    rng.shuffle(cases)
    return cases


def materialise(case: Case, scratch: Path) -> Path | None:
    """Copy the seed run into `scratch` and mutate one file; None when the operator does not apply."""
    target = scratch / case.seed.path.name
    if case.seed.path.is_file():
        shutil.copy2(case.seed.path, target)
        victim = target
    else:
        shutil.copytree(case.seed.path, target, symlinks=True)
        victim = target / case.file
    rng = random.Random(case.index * 1_000_003 + zlib.crc32(case.op.encode()))
    mutated = OPERATORS[case.op](victim.read_bytes(), rng)
    if mutated is None:
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink()
        return None
    victim.write_bytes(mutated)
    return target


# ----------------------------------------------------------------------------- the sandbox


@dataclass
class Outcome:
    rc: int | None  # None: killed (timeout or signal)
    seconds: float
    peak_rss_mb: float
    traceback: str = ""
    timed_out: bool = False
    runs: dict[str, dict] = field(default_factory=dict)  # run name -> {"status", "points"}
    errors: int = 0
    cpu_seconds: float = 0.0  # user + system time of the case (what the machine's load does not inflate)


def preload() -> None:
    """Import what a diagnosis imports once, so each forked case starts warm."""
    from advisor.pipeline import read_runs  # noqa: F401

    import advisor.cli  # noqa: F401

    fixtures = REPO / "fixtures" / "runs"
    if fixtures.exists():
        _diagnose_in_process(fixtures)


def _diagnose_in_process(path: Path) -> tuple[int, str]:
    import io
    from contextlib import redirect_stderr, redirect_stdout

    from advisor.cli import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            main.main(["diagnose", str(path), "--format", "json", "-q", "--jobs", "1"], standalone_mode=False)
            rc = 0
        except SystemExit as exc:
            rc = int(exc.code or 0)
    return rc, out.getvalue()


def _address_space() -> int:
    """This process's mapped address space in bytes (VmSize), 0 where /proc is not there."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def run_case(path: Path, timeout: float = 60.0, memory_cap: int = 2 << 30) -> Outcome:
    """`advisor diagnose PATH --format json` in a forked child under RLIMIT_AS and a timeout."""
    rfd, wfd = os.pipe()
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:  # child
        os.close(rfd)
        code = 0
        payload: dict = {}
        try:
            # The cap is on what the case may add: a parent that imported torch or Ray already maps
            # gigabytes of address space, and a cap below that makes every stack growth fail
            # (a deep-JSON case then dies of SIGSEGV instead of raising RecursionError).
            limit = _address_space() + memory_cap
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            rc, text = _diagnose_in_process(path)
            payload["rc"] = rc
            try:
                report = json.loads(text)
                payload["runs"] = {r["run"]: {"status": r["status"], "points": r["points"]} for r in report["runs"]}
                payload["errors"] = len(report["errors"])
            except ValueError:
                payload["runs"], payload["errors"] = {}, 0
        except BaseException:  # noqa: BLE001 - a traceback is exactly what we are looking for
            payload = {"rc": 1, "traceback": traceback.format_exc()[-3000:]}
        try:
            os.write(wfd, json.dumps(payload).encode())
        finally:
            os._exit(code)
    os.close(wfd)
    deadline = start + timeout
    status = None
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            _, status, usage = os.wait4(pid, 0)
            os.close(rfd)
            return Outcome(None, time.monotonic() - start, usage.ru_maxrss / 1024, timed_out=True,
                           cpu_seconds=usage.ru_utime + usage.ru_stime)
        time.sleep(0.01)
    with os.fdopen(rfd, "rb") as fh:
        raw = fh.read()
    seconds = time.monotonic() - start
    cpu = usage.ru_utime + usage.ru_stime
    if not raw:
        return Outcome(None, seconds, usage.ru_maxrss / 1024, traceback=f"child died (status {status})", cpu_seconds=cpu)
    payload = json.loads(raw)
    return Outcome(payload.get("rc"), seconds, usage.ru_maxrss / 1024, payload.get("traceback", ""),
                   runs=payload.get("runs", {}), errors=payload.get("errors", 0), cpu_seconds=cpu)


# ----------------------------------------------------------------------------- a campaign


@dataclass
class Summary:
    cases: int = 0
    skipped: int = 0  # operator not applicable to the chosen file
    tracebacks: list[str] = field(default_factory=list)
    hangs: list[str] = field(default_factory=list)  # past the timeout, and again when re-run with 5x the time
    slow_under_load: list[str] = field(default_factory=list)  # past the timeout once, done when re-run (CPU s given)
    over_memory: list[str] = field(default_factory=list)
    lost_run_flips: list[str] = field(default_factory=list)  # 1 -> 0 with the run lost or errored
    points_lost_flips: list[str] = field(default_factory=list)  # 1 -> 0, run read but most of its points lost
    signal_flips: list[str] = field(default_factory=list)  # 1 -> 0, run read and diagnosed (informational)
    control_mismatches: list[str] = field(default_factory=list)
    peak_rss_mb: float = 0.0
    max_seconds: float = 0.0
    max_cpu_seconds: float = 0.0
    by_op: dict[str, int] = field(default_factory=dict)

    def ok(self) -> bool:
        return not (self.tracebacks or self.hangs or self.over_memory or self.lost_run_flips or self.points_lost_flips
                    or self.control_mismatches)


def baselines(all_seeds: list[Seed], timeout: float) -> dict[str, Outcome]:
    return {s.name: run_case(s.path, timeout) for s in all_seeds}


def campaign(all_seeds: list[Seed], count: int, seed: int = 14, timeout: float = 60.0, memory_mb: float = 1024,
             controls: dict[str, Outcome] | None = None, control_every: int = 200,
             progress: Callable[[int, Summary], None] | None = None) -> Summary:
    controls = controls or baselines(all_seeds, timeout)
    summary = Summary()
    by_name = {s.name: s for s in all_seeds}
    control_names = sorted(controls)
    for done, case in enumerate(plan(all_seeds, count, seed), start=1):
        with tempfile.TemporaryDirectory(prefix="advisor-fuzz-") as tmp:
            target = materialise(case, Path(tmp))
            if target is None:
                summary.skipped += 1
                continue
            outcome = run_case(target, timeout)
            label = f"{case.seed.name}/{case.file} {case.op} #{case.index}"
            if outcome.timed_out:
                # A wall-clock timeout on a loaded machine is not yet a hang: re-run the case alone
                # with 5x the time; a hang (a FIFO read, a per-byte scan) does not finish either way.
                again = run_case(target, 5 * timeout)
                if not again.timed_out:
                    summary.slow_under_load.append(f"{label}: {outcome.seconds:.0f} s wall, then {again.seconds:.0f} s "
                                                   f"wall, {again.cpu_seconds:.1f} s CPU")
                    outcome = again
        summary.cases += 1
        summary.by_op[case.op] = summary.by_op.get(case.op, 0) + 1
        summary.peak_rss_mb = max(summary.peak_rss_mb, outcome.peak_rss_mb)
        summary.max_seconds = max(summary.max_seconds, outcome.seconds)
        summary.max_cpu_seconds = max(summary.max_cpu_seconds, outcome.cpu_seconds)
        if outcome.timed_out:
            summary.hangs.append(label)
        elif outcome.traceback:
            summary.tracebacks.append(f"{label}: {outcome.traceback.strip().splitlines()[-1]}")
        if outcome.peak_rss_mb >= memory_mb:
            summary.over_memory.append(f"{label}: {outcome.peak_rss_mb:.0f} MB")
        base = controls[case.seed.name]
        if base.rc == 1 and outcome.rc == 0 and case.op in ONE_VALUE:
            lost = len(outcome.runs) < len(base.runs) or any(r["status"] == "error" for r in outcome.runs.values())
            points = sum(r["points"] for r in outcome.runs.values())
            control = sum(r["points"] for r in base.runs.values())
            kind = (summary.lost_run_flips if lost else
                    summary.points_lost_flips if points < control / 2 else summary.signal_flips)
            kind.append(f"{label} ({points} of {control} points)")
        if control_every and done % control_every == 0:
            name = control_names[(done // control_every) % len(control_names)]
            again = run_case(by_name[name].path, timeout)
            if {k: v["points"] for k, v in again.runs.items()} != {k: v["points"] for k, v in controls[name].runs.items()}:
                summary.control_mismatches.append(name)
        if progress:
            progress(done, summary)
    return summary
