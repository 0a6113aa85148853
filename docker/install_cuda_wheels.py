"""Lays out CUDA from NVIDIA's PyPI wheels (nvidia-cuda-nvcc-cu12, nvidia-cublas-cu12, ...) as
one toolkit prefix, inside the image build (standard library only). pip has already downloaded
the wheels, each checked against its pinned sha256 (--require-hashes). Each wheel keeps its
component under nvidia/<component>/{bin,include,lib,nvvm}; merged, they give the lib/ layout
NVIDIA's redistributable archives have (lib/libcudart.so.12, bin/ptxas, nvvm/libdevice), plus
the unversioned libX.so links those archives carry.

    python3 install_cuda_wheels.py --prefix /usr/local/cuda-12.4 WHEEL...
"""

import argparse
import os
import re
import shutil
import stat
import sys
import tempfile
import zipfile
from pathlib import Path

PARTS = ("bin", "include", "lib", "nvvm")
VERSIONED = re.compile(r"^(lib[\w+-]+\.so)\.\d+$")


def unpack(wheel: Path, into: Path) -> list[Path]:
    """The wheel's nvidia/<component>/ directories, extracted (modes kept: zip has no x bit
    pip would not restore, so it comes from the wheel's external attributes)."""
    components = set()
    with zipfile.ZipFile(wheel) as archive:
        for info in archive.infolist():
            parts = Path(info.filename).parts
            if len(parts) < 3 or parts[0] != "nvidia" or ".." in parts:
                continue
            target = into.joinpath(*parts)
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)
            mode = (info.external_attr >> 16) & 0o777
            os.chmod(target, mode or 0o644)
            components.add(into / "nvidia" / parts[1])
    return sorted(components)


def merge(component: Path, prefix: Path) -> list[str]:
    placed = []
    for part in PARTS:
        source = component / part
        if source.is_dir():
            shutil.copytree(source, prefix / part, symlinks=True, dirs_exist_ok=True)
            placed.append(part)
    return placed


def link_unversioned(lib: Path) -> None:
    for path in sorted(lib.glob("lib*.so.*")):
        match = VERSIONED.match(path.name)
        if match and not (lib / match.group(1)).exists():
            (lib / match.group(1)).symlink_to(path.name)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prefix", required=True)
    parser.add_argument("wheels", nargs="+")
    args = parser.parse_args()
    prefix = Path(args.prefix)
    prefix.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for wheel in args.wheels:
            components = unpack(Path(wheel), Path(tmp))
            if not components:
                sys.exit(f"{wheel}: no nvidia/<component>/ directory: not an NVIDIA CUDA wheel")
            for component in components:
                print(f"{Path(wheel).name}: {component.name} -> {', '.join(merge(component, prefix))}")
            shutil.rmtree(Path(tmp) / "nvidia")
    if (prefix / "lib").is_dir():
        link_unversioned(prefix / "lib")
    for tool in (prefix / "bin").glob("*") if (prefix / "bin").is_dir() else ():
        tool.chmod(tool.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


if __name__ == "__main__":
    main()
