"""Pages rendered by a real browser: Debian's Chromium, headless, with every network name
unresolvable (a page that needs the network shows it as a console error). What the page logged
to its console is read from Chromium's own log lines (`INFO:CONSOLE ... "message"`)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
_CONSOLE = re.compile(r":CONSOLE[^\]]*\] (.*)$")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
         "--enable-logging=stderr", "--v=0", "--host-resolver-rules=MAP * ~NOTFOUND"]


def _run(args: list[str], profile: Path) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=120)


def screenshot(page: Path, png: Path, *, width: int = 1200, height: int = 900) -> list[str]:
    """Renders the page into png; the console messages it logged."""
    proc = _run([f"--window-size={width},{height}", f"--screenshot={png}", page.as_uri()],
                png.parent / ".chromium-profile")
    assert png.is_file(), proc.stderr[-2000:]
    return [m.group(1) for m in map(_CONSOLE.search, proc.stderr.splitlines()) if m]


def dom(page: Path) -> str:
    """The page's DOM after it loaded, as Chromium serialises it."""
    proc = _run(["--dump-dom", page.as_uri()], page.parent / ".chromium-profile")
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout
