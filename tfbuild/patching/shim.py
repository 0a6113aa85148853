"""The non-invasive local-CUDA fix: a tfbuild-owned directory used as LOCAL_CUDA_PATH.

It has what TF's hermetic rules link (include, lib, bin, nvvm): `lib` holds links to every file
of the toolkit's lib64 and CUPTI's libraries, `include` links to every header entry plus CUPTI's,
`bin` and `nvvm` link to the toolkit's. The TF tree is not touched. The shim is rebuilt only when
what it would hold changes, and swapped into place whole."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

PLAN_FILE = ".tfbuild-shim.json"


def _entries(directory: Path) -> list[str]:
    try:
        return sorted(os.listdir(directory))
    except OSError:
        return []


def plan(cuda_root: Path) -> dict[str, str]:
    """Link name (relative to the shim) -> absolute target."""
    links: dict[str, str] = {}
    for top in ("bin", "nvvm"):
        if (cuda_root / top).exists():
            links[top] = str(cuda_root / top)
    if (cuda_root / "version.json").exists():
        links["version.json"] = str(cuda_root / "version.json")
    for sub, sources in (("lib", [cuda_root / "lib64", cuda_root / "lib",
                                  cuda_root / "extras" / "CUPTI" / "lib64"]),
                         ("include", [cuda_root / "include",
                                      cuda_root / "extras" / "CUPTI" / "include"])):
        for source in sources:
            for name in _entries(source):
                links.setdefault(f"{sub}/{name}", str(source / name))
    return links


def status(shim: Path, cuda_root: Path) -> str:
    """"applied" (up to date), "outdated" (the toolkit changed) or "not-applied"."""
    recorded = shim / PLAN_FILE
    if not recorded.is_file():
        return "not-applied"
    try:
        current = json.loads(recorded.read_text())
    except ValueError:
        return "outdated"
    return "applied" if current == plan(cuda_root) else "outdated"


def build(shim: Path, cuda_root: Path) -> bool:
    """Create or refresh the shim; False when it was already up to date."""
    if status(shim, cuda_root) == "applied":
        return False
    links = plan(cuda_root)
    shim.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".cuda-shim.", dir=shim.parent))
    try:
        for name, target in links.items():
            link = staging / name
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(target)
        (staging / PLAN_FILE).write_text(json.dumps(links, indent=2, sort_keys=True) + "\n")
        old = None
        if shim.exists():
            old = shim.parent / f".cuda-shim.old.{os.getpid()}"
            os.rename(shim, old)
        os.rename(staging, shim)
        if old:
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return True


def owned(state: Path) -> list[Path]:
    """The shims tfbuild made in a state directory (each holds its PLAN_FILE)."""
    try:
        return sorted(p for p in state.glob("cuda-shim*")
                      if p.is_dir() and not p.is_symlink() and (p / PLAN_FILE).is_file())
    except OSError:
        return []


def remove(shim: Path) -> bool:
    if not shim.exists():
        return False
    if not (shim / PLAN_FILE).exists():
        raise RuntimeError(f"{shim} is not a tfbuild CUDA shim")
    shutil.rmtree(shim)
    return True
