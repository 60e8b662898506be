"""A real browser opens the HTML report from disk: no console errors, no network, inert injection.

Approach, and why: headless Chromium driven over the DevTools protocol on a *pipe*
(`--remote-debugging-pipe`: NUL-terminated JSON on file descriptors 3 and 4). That needs no
websocket client, no playwright download and no open port, only the system `chromium` package,
yet it sees everything we must assert: `Network.requestWillBeSent` for every request (only the
report's own file:// URL is allowed), `Runtime.consoleAPICalled` / `Runtime.exceptionThrown` /
`Log.entryAdded` for errors (a CSP violation is a Log error), and `Page.javascriptDialogOpening`
for an `alert()` an injection would raise. `chromium --headless --screenshot` alone could take a
picture but could not see console errors or requests. A negative control proves the harness
can fail: a page that does make a request and logs an error must be caught.

The screenshot is saved to tests/artifacts/report-screenshot.png (git-ignored) for CI upload.
Skips (with the reason) only where no Chromium binary exists.
"""
from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from advisor.report import render
from gold.samples import HOSTILE_RUN, HOSTILE_TAG, hostile_diagnosis, sample_diagnosis

pytestmark = pytest.mark.slow

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser:
    """Minimal CDP client over --remote-debugging-pipe (one page session, flat mode)."""

    def __init__(self, binary: str, workdir: Path):
        to_child_r, self._to_child_w = os.pipe()  # browser reads fd 3
        self._from_child_r, from_child_w = os.pipe()  # browser writes fd 4

        def wire_fds() -> None:  # runs in the child between fork and exec
            os.dup2(to_child_r, 3)
            os.dup2(from_child_w, 4)

        args = [binary, "--headless", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu",
                "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio", "--window-size=1200,900",
                f"--user-data-dir={workdir / 'profile'}", "about:blank"]
        self._log = open(workdir / "chromium.log", "wb")
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=self._log, pass_fds=(3, 4), preexec_fn=wire_fds)
        os.close(to_child_r)
        os.close(from_child_w)
        self._buf = b""
        self._id = 0
        self.events: list[dict] = []
        self.session: str | None = None

    def _read_message(self, timeout: float) -> dict | None:
        deadline = time.monotonic() + timeout
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self._from_child_r], [], [], left)
            if not ready:
                return None
            chunk = os.read(self._from_child_r, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self._buf += chunk
        msg, _, self._buf = self._buf.partition(b"\0")
        return json.loads(msg)

    def send(self, method: str, params: dict | None = None, *, session: bool = True, timeout: float = 30) -> dict:
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self._to_child_w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            reply = self._read_message(deadline - time.monotonic())
            if reply is None:
                break
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)
        raise TimeoutError(method)

    def pump(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            msg = self._read_message(deadline - time.monotonic())
            if msg is not None:
                self.events.append(msg)

    def wait_event(self, method: str, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        seen = len(self.events)
        while time.monotonic() < deadline:
            for ev in self.events[seen:]:
                if ev.get("method") == method:
                    return ev
            seen = len(self.events)
            msg = self._read_message(min(0.5, max(0.0, deadline - time.monotonic())))
            if msg is not None:
                self.events.append(msg)
        raise TimeoutError(method)

    def open_page(self) -> None:
        target = self.send("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True},
                                 session=False)["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable")

    def visit(self, url: str) -> dict:
        """Load `url`; return what happened: requests, errors, dialogs."""
        self.events.clear()
        self.send("Page.navigate", {"url": url})
        self.wait_event("Page.loadEventFired")
        self.pump(0.7)  # late console messages and lazy requests
        mine = [e for e in self.events if e.get("sessionId") == self.session]
        requests = [e["params"]["request"]["url"] for e in mine if e.get("method") == "Network.requestWillBeSent"]
        errors = []
        for e in mine:
            m, p = e.get("method"), e.get("params", {})
            if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert", "warning"):
                errors.append(("console", p.get("type"), [a.get("value", a.get("description")) for a in p.get("args", [])]))
            elif m == "Runtime.exceptionThrown":
                errors.append(("exception", p.get("exceptionDetails", {}).get("text")))
            elif m == "Log.entryAdded" and p.get("entry", {}).get("level") in ("error", "warning"):
                errors.append(("log", p["entry"].get("source"), p["entry"].get("text")))
        dialogs = [e["params"] for e in mine if e.get("method") == "Page.javascriptDialogOpening"]
        return {"requests": requests, "errors": errors, "dialogs": dialogs}

    def evaluate(self, expression: str):
        res = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        return res.get("result", {}).get("value")

    def screenshot(self, path: Path, max_height: int = 6000) -> None:
        metrics = self.send("Page.getLayoutMetrics")
        size = metrics.get("cssContentSize") or metrics["contentSize"]
        clip = {"x": 0, "y": 0, "width": min(size["width"], 1200), "height": min(size["height"], max_height), "scale": 1}
        data = self.send("Page.captureScreenshot", {"format": "png", "clip": clip, "captureBeyondViewport": True})["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))

    def close(self) -> None:
        try:
            self.send("Browser.close", session=False, timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()
        for fd in (self._to_child_w, self._from_child_r):
            try:
                os.close(fd)
            except OSError:
                pass


@pytest.fixture(scope="module")
def browser():
    binary = _chromium()
    if binary is None:
        pytest.skip("no Chromium binary on PATH (Debian: apt-get install -y chromium)")
    with tempfile.TemporaryDirectory(prefix="advisor-chromium-") as tmp:
        b = Browser(binary, Path(tmp))
        try:
            b.open_page()
        except Exception as e:
            log = (Path(tmp) / "chromium.log").read_text(errors="replace")[-2000:]
            b.close()
            pytest.fail(f"chromium did not start: {e}\n{log}")
        yield b
        b.close()


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_harness_catches_requests_and_errors(browser, tmp_path):
    """Negative control: the checks below would be worthless if the harness could not fail."""
    page = _write(tmp_path, "bad.html", '<!DOCTYPE html><img src="http://127.0.0.1:9/x.png">'
                  '<script>console.error("boom")</script>')
    seen = browser.visit(page.as_uri())
    assert any(u.startswith("http://127.0.0.1:9/") for u in seen["requests"]), seen
    assert any(e[0] == "console" for e in seen["errors"]), seen


def test_report_opens_clean_and_screenshot(browser, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    page = _write(tmp_path, "report.html", render(sample_diagnosis(), "html"))
    seen = browser.visit(page.as_uri())
    assert seen["errors"] == [], seen["errors"]
    assert seen["dialogs"] == []
    assert set(seen["requests"]) <= {page.as_uri()}, seen["requests"]
    assert browser.evaluate("document.scripts.length") == 0
    assert browser.evaluate("document.querySelectorAll('svg.chart').length") == 4
    assert browser.evaluate("document.querySelectorAll('table.overview tbody tr').length") == len(sample_diagnosis().runs)
    # The overview's anchor links land on the run sections.
    assert browser.evaluate(
        "[...document.querySelectorAll('table.overview a')].every(a => document.getElementById(a.hash.slice(1)))")
    # Charts really laid out (not zero-sized), i.e. the inline SVG parsed.
    assert browser.evaluate("document.querySelector('svg.chart').getBoundingClientRect().height") > 200
    shot = ARTIFACTS / "report-screenshot.png"
    browser.screenshot(shot)
    assert shot.stat().st_size > 10_000
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_hostile_report_is_inert_in_a_browser(browser, tmp_path):
    page = _write(tmp_path, "hostile.html", render(hostile_diagnosis(), "html"))
    seen = browser.visit(page.as_uri())
    assert seen["dialogs"] == [], "an injected alert() ran"
    assert seen["errors"] == [], seen["errors"]
    assert set(seen["requests"]) <= {page.as_uri()}, seen["requests"]
    assert browser.evaluate("document.scripts.length") == 0
    assert browser.evaluate("document.images.length") == 0
    assert browser.evaluate("document.querySelectorAll('[onerror],[onload],[onclick]').length") == 0
    # The hostile strings are shown as text, exactly.
    body = browser.evaluate("document.body.innerText")
    assert HOSTILE_TAG in body
    assert HOSTILE_RUN in body
    browser.screenshot(ARTIFACTS / "report-hostile-screenshot.png", max_height=2500)
