"""Collecting the wheel and the libtensorflow shared libraries into dist/<profile>/, symlinks
kept, with SHA256SUMS. The new directory is assembled aside and swapped in whole."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tfbuild.errors import BuildFailed
from tfbuild.files import atomic_write, sha256_file

LIB_PATTERNS = ("libtensorflow_framework*.so*", "libtensorflow*.so*")
WHEEL_GLOB = "tensorflow/tools/pip_package/wheel_house/*.whl"


@dataclass(frozen=True)
class Artifact:
    name: str
    sha256: str | None  # None for a symlink
    size: int
    symlink_to: str | None = None

    def as_dict(self) -> dict:
        return {"name": self.name, "sha256": self.sha256, "size": self.size,
                "symlink_to": self.symlink_to}


def find_outputs(bazel_bin: Path) -> list[Path]:
    wheels = sorted(bazel_bin.glob(WHEEL_GLOB))
    libs: dict[str, Path] = {}
    for pattern in LIB_PATTERNS:
        for path in sorted((bazel_bin / "tensorflow").glob(pattern)):
            if path.name.endswith((".params", ".runfiles_manifest")) or path.is_dir():
                continue
            libs.setdefault(path.name, path)
    return [*wheels, *libs.values()]


WHEEL_TARGET = "//tensorflow/tools/pip_package:wheel"


def collect(bazel_bin: Path, dest: Path, targets: tuple[str, ...] = (WHEEL_TARGET,)) -> list[Artifact]:
    outputs = find_outputs(bazel_bin)
    if WHEEL_TARGET in targets and not any(p.suffix == ".whl" for p in outputs):
        raise BuildFailed(f"Bazel succeeded but no wheel is under {bazel_bin}/{WHEEL_GLOB}",
                          hint="check build.targets includes //tensorflow/tools/pip_package:wheel")
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        artifacts = []
        for path in outputs:
            target = staging / path.name
            if path.is_symlink() and os.readlink(path) in {p.name for p in outputs}:
                link = os.readlink(path)
                target.symlink_to(link)
                artifacts.append(Artifact(path.name, None, 0, link))
            else:
                shutil.copyfile(path, target)
                os.chmod(target, 0o755 if path.suffix != ".whl" else 0o644)
                artifacts.append(Artifact(path.name, sha256_file(target), target.stat().st_size))
        sums = "".join(f"{a.sha256}  {a.name}\n" for a in artifacts if a.sha256)
        atomic_write(staging / "SHA256SUMS", sums)
        _swap(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return artifacts


def _swap(staging: Path, dest: Path) -> None:
    old = None
    if dest.exists():
        old = dest.parent / f".{dest.name}.old.{os.getpid()}"
        os.rename(dest, old)
    os.rename(staging, dest)
    os.chmod(dest, 0o755)
    if old:
        shutil.rmtree(old)
