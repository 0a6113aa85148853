"""Collecting the build's outputs (the wheel and the libtensorflow shared libraries) into
dist/<profile>/, symlinks kept, with SHA256SUMS. Which files: exactly those Bazel's build events
name as the requested targets' outputs. The new directory is assembled aside and swapped in
whole."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from tfbuild.errors import BuildFailed
from tfbuild.files import atomic_write, sha256_file

@dataclass(frozen=True)
class Artifact:
    name: str
    sha256: str | None  # None for a symlink
    size: int
    symlink_to: str | None = None

    def as_dict(self) -> dict:
        return {"name": self.name, "sha256": self.sha256, "size": self.size,
                "symlink_to": self.symlink_to}


WHEEL_TARGET = "//tensorflow/tools/pip_package:wheel"
_PATTERN = re.compile(r"(\.\.\.|:all$|:\*$|:all-targets$)")


def outputs_from_events(target_outputs: Sequence[tuple[str, bool, Sequence[str]]] | None,
                        targets: Sequence[str]) -> list[Path]:
    """Exactly the files Bazel's build events name as the requested targets' default outputs
    (never a glob of bazel-bin: an old wheel or library there is not this build's). Refused when
    there are no build events, a requested target is missing from them or produced nothing,
    or an output was left remote (not downloaded)."""
    fix = "build again; keep --build_event_json_file out of --bazel-opt (tfbuild reads it)"
    if not target_outputs:
        raise BuildFailed("Bazel succeeded, but its build events name no target outputs: "
                          "nothing can be collected", hint=fix)
    reported = {label for label, _, _ in target_outputs}
    missing = [t for t in targets if not _PATTERN.search(t) and _canonical(t) not in reported]
    if missing:
        raise BuildFailed(f"Bazel's build events do not report {', '.join(missing)}: nothing "
                          "of it can be collected", hint=fix)
    files: dict[str, Path] = {}
    for label, succeeded, uris in target_outputs:
        if not succeeded:
            raise BuildFailed(f"{label} did not build (its build event says so)", hint=fix)
        if not uris:
            raise BuildFailed(f"{label} produced no output file",
                              hint=f"check the target {label} in build.targets")
        for uri in uris:
            parsed = urlparse(uri)
            if parsed.scheme != "file":
                raise BuildFailed(f"{label}: output {uri} was not downloaded from the remote "
                                  "(only file:// outputs can be collected)",
                                  hint="build with --remote_download_toplevel (or outputs=all)")
            path = Path(unquote(parsed.path))
            if not os.path.lexists(path):
                raise BuildFailed(f"{label}: output {path} named by the build events does not "
                                  "exist", hint=fix)
            other = files.get(path.name)
            if other is not None and other != path:
                raise BuildFailed(f"two outputs are named {path.name}: {other} and {path}",
                                  hint="build.targets names targets whose outputs collide in "
                                  "dist/<profile>/")
            files[path.name] = path
    if WHEEL_TARGET in targets and not any(p.suffix == ".whl" for p in files.values()):
        raise BuildFailed(f"{WHEEL_TARGET} built no .whl file (its outputs: "
                          f"{', '.join(files) or 'none'})",
                          hint="check that the wheel target builds the wheel")
    return list(files.values())


def _canonical(label: str) -> str:
    """As build events print a label: `//pkg` is `//pkg:pkg`; `@repo//x` keeps its repo."""
    if ":" not in label.rsplit("//", 1)[-1]:
        label = f"{label}:{label.rstrip('/').rsplit('/', 1)[-1]}"
    return label


def collect(outputs: Sequence[Path], dest: Path,
            extra: Mapping[str, bytes] | None = None) -> list[Artifact]:
    """Copy the given outputs into dest (symlinks between them kept as symlinks), with
    SHA256SUMS; the new directory is assembled aside and swapped in whole. `extra` files
    (relative path -> content, e.g. include/tensorflow/c/c_api.h) are written and listed in
    SHA256SUMS too, but are not artifacts."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    names = {p.name for p in outputs}
    try:
        artifacts = []
        for path in sorted(outputs, key=lambda p: p.name):  # SHA256SUMS in one order, whatever
            target = staging / path.name                       # order the build events list
            if path.is_symlink() and os.readlink(path) in names:
                link = os.readlink(path)
                target.symlink_to(link)
                artifacts.append(Artifact(path.name, None, 0, link))
            else:
                shutil.copyfile(path, target)
                os.chmod(target, 0o755 if path.suffix != ".whl" else 0o644)
                artifacts.append(Artifact(path.name, sha256_file(target), target.stat().st_size))
        sums = "".join(f"{a.sha256}  {a.name}\n" for a in artifacts if a.sha256)
        for name, data in sorted((extra or {}).items()):
            target = staging / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            os.chmod(target, 0o644)
            sums += f"{sha256_file(target)}  {name}\n"
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
