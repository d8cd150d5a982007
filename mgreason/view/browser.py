"""Headless Chromium (Debian's ``chromium`` package) for the viewer: the DOM after the page's scripts ran,
and screenshots. Used by the browser tests and ``scripts/view_screenshots.py``; never downloads a browser.

The flags suit a closed network and a root container: no sandbox (root), no GPU, no QUIC, no first-run,
background networking, component updates or sync, and a fresh profile directory per call.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Optional

from mgreason.errors import MGReasonError

CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
)


def find_chromium() -> Optional[str]:
    """The Chromium binary: ``$MGREASON_CHROMIUM``, else Debian's ``/usr/bin/chromium``; None when absent."""
    env = os.environ.get("MGREASON_CHROMIUM")
    if env:
        return env if Path(env).is_file() else None
    for c in CANDIDATES:
        if Path(c).is_file():
            return c
    return shutil.which("chromium")


def _run(args: list[str], timeout: float) -> subprocess.CompletedProcess:
    exe = find_chromium()
    if exe is None:
        raise MGReasonError("Chromium not found (apt-get install -y chromium, or set MGREASON_CHROMIUM)")
    with tempfile.TemporaryDirectory(prefix="mgreason-chromium-") as profile:
        cmd = [exe, *FLAGS, f"--user-data-dir={profile}", *args]
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as e:
            raise MGReasonError(f"Chromium did not finish within {timeout:.0f} s: {' '.join(cmd)}") from e


def page_url(page: str | Path, fragment: str = "") -> str:
    url = Path(page).resolve().as_uri()
    return url + ("#" + fragment.lstrip("#") if fragment else "")


def dump_dom(page: str | Path, fragment: str = "", *, timeout: float = 90.0, budget_ms: int = 5000) -> str:
    """The serialised DOM of ``page#fragment`` once its scripts ran (``--dump-dom``; ``budget_ms`` of
    virtual time lets timers and the lazy rendering finish)."""
    res = _run([f"--virtual-time-budget={budget_ms}", "--dump-dom", page_url(page, fragment)], timeout)
    if res.returncode != 0 or "<html" not in res.stdout:
        raise MGReasonError(f"Chromium failed (exit {res.returncode}): {res.stderr.strip()[-500:]}", file=page)
    return res.stdout


def screenshot(
    page: str | Path, out: str | Path, fragment: str = "", *, size: tuple[int, int] = (1400, 1000),
    timeout: float = 90.0, budget_ms: int = 5000,
) -> Path:  # fmt: skip
    """A PNG of ``page#fragment`` at ``size`` (width, height) CSS pixels."""
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    res = _run(
        [f"--window-size={size[0]},{size[1]}", f"--virtual-time-budget={budget_ms}", f"--screenshot={out}",
         page_url(page, fragment)],
        timeout,
    )  # fmt: skip
    if res.returncode != 0 or not out.is_file():
        raise MGReasonError(f"Chromium screenshot failed (exit {res.returncode}): {res.stderr.strip()[-500:]}", file=page)
    return out


__all__ = ["FLAGS", "dump_dom", "find_chromium", "page_url", "screenshot"]
