"""Running `auditwheel show --json` on a wheel, through the runner, without ever failing: a
missing, old or failing auditwheel is a warning in the audit, not a crash. Results are cached
by the wheel's sha256 and auditwheel's version (auditing TF's 250 MB wheel takes about 50 s)."""

from __future__ import annotations

import json
import os
import sys
from importlib import metadata
from pathlib import Path

from tfbuild.errors import Interrupted, TfbuildError
from tfbuild.files import atomic_write, sha256_file
from tfbuild.runner import Runner, tail
from tfbuild.wheel_audit import WheelAudit, parse_show_json

TIMEOUT_S = 600
INSTALL_HINT = "install it into tfbuild's environment: .venv/bin/pip install 'auditwheel>=6.8'"


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "tfbuild" / "auditwheel"


def auditwheel_version() -> str | None:
    try:
        return metadata.version("auditwheel")
    except metadata.PackageNotFoundError:
        return None


def audit_wheel(wheel: Path, runner: Runner, *, sha256: str | None = None,
                cache: Path | None = None) -> WheelAudit:
    version = auditwheel_version()
    if version is None:
        return WheelAudit(wheel.name, error=f"auditwheel is not installed ({INSTALL_HINT})")
    tool = f"auditwheel {version}"
    cached = (cache or cache_dir()) / f"{sha256 or sha256_file(wheel)}-{version}.json"
    if cached.is_file():
        try:
            return parse_show_json(cached.read_text(), wheel.name, tool)
        except OSError:
            pass
    try:
        result = runner.run([sys.executable, "-m", "auditwheel", "show", "--json",
                             "--allow-pure-python-wheel", str(wheel)],
                            check=False, timeout=TIMEOUT_S)
    except Interrupted:  # a stopped probe stops the command; never a fact
        raise
    except TfbuildError as exc:
        return WheelAudit(wheel.name, tool, error=f"auditwheel did not finish: {exc.message}")
    if "unrecognized arguments: --json" in result.stderr:
        return WheelAudit(wheel.name, tool, error=f"{tool} has no --json ({INSTALL_HINT})")
    audit = parse_show_json(result.stdout, wheel.name, tool)
    if audit.error and result.returncode and audit.error == "auditwheel printed no JSON":
        audit = WheelAudit(wheel.name, tool, error=f"auditwheel failed (exit "
                           f"{result.returncode}): {tail(result.stderr, 1)}")
    if audit.ok:
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(cached, json.dumps(json.loads(result.stdout)) + "\n")
        except (OSError, TfbuildError, ValueError):
            pass  # a cache that cannot be written only costs time
    return audit
