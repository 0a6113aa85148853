"""A second Unix user (uid 65534 via setpriv) running tfbuild's real command line from a venv
of its own, for the tests and bench/build.py that show builds are shared across users."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.helpers.cli import ROOT

SECOND_UID = 65534
AVAILABLE = os.geteuid() == 0 and bool(shutil.which("setpriv"))
WHY_NOT = "a second user needs root and setpriv (util-linux)"


def shell(base: Path, name: str) -> dict:
    """One user's shell: its own HOME, state, output root, dist, temp dir and PATH entries."""
    dirs = {key: base / name / key for key in ("home", "state", "root", "dist", "tmp", "bin")}
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    return {"HOME": str(dirs["home"]), "TFBUILD_STATE_DIR": str(dirs["state"]),
            "TFBUILD_BUILD_OUTPUT_USER_ROOT": str(dirs["root"]),
            "TFBUILD_BUILD_DIST_DIR": str(dirs["dist"]), "TMPDIR": str(dirs["tmp"]),
            "PATH": f"{dirs['bin']}:{os.environ['PATH']}"}


def second_user_venv(base: Path) -> Path:
    """A venv at another path, of Debian's Python, that sees tfbuild's installed packages
    (root's pyenv is not readable by another user)."""
    venv = base / "venv"
    subprocess.run(["/usr/bin/python3", "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next((venv / "lib").glob("python3*/site-packages"))
    main_site = next((ROOT / ".venv" / "lib").glob("python3*/site-packages"))
    (site / "tfbuild-tests.pth").write_text(f"import site; site.addsitedir({str(main_site)!r})\n")
    return venv


def hand_over(base: Path) -> None:
    """Give the second user everything under base (its own checkout, home, roots)."""
    subprocess.run(["chown", "-R", f"{SECOND_UID}:{SECOND_UID}", str(base)], check=True)
    os.chmod(base, 0o755)


def invoke_as_second_user(args: list[str], env: dict, venv: Path) -> subprocess.CompletedProcess:
    argv = ["setpriv", f"--reuid={SECOND_UID}", f"--regid={SECOND_UID}", "--clear-groups",
            str(venv / "bin" / "python"), "-m", "invoke", "--search-root", str(ROOT), *args]
    return subprocess.run(argv, env={"TFBUILD_COLOR": "0", **env}, cwd=env["HOME"],
                          capture_output=True, text=True, timeout=600)
