"""Headless Chromium for the UI tests: a page's screenshot and its text after the app has rendered."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def chromium(args: list[str], tmp: Path) -> subprocess.CompletedProcess:
    profile = tmp / f"chromium-profile-{time.monotonic_ns()}"
    argv = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=15000",
        *([] if any(a.startswith("--window-size=") for a in args) else ["--window-size=1600,1000"]),
        *args,
    ]
    return subprocess.run(argv, capture_output=True, timeout=120, check=False)


def screenshot(url: str, path: Path, size: str = "1600,1000") -> Path:
    done = chromium([f"--screenshot={path}", f"--window-size={size}", "--hide-scrollbars", url], path.parent)
    assert path.exists() and path.stat().st_size > 10_000, (
        f"no screenshot of {url}: {done.stderr.decode(errors='replace')[-2000:]}"
    )
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return path


def rendered_text(url: str, tmp: Path) -> str:
    """The page's text after the app has rendered (scripts and styles removed, tags to spaces)."""
    done = chromium(["--dump-dom", url], tmp)
    dom = done.stdout.decode("utf-8", errors="replace")
    assert "<html" in dom, f"no DOM for {url}: {done.stderr.decode(errors='replace')[-2000:]}"
    text = re.sub(r"<script.*?</script>|<style.*?</style>", " ", dom, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", text).split())
