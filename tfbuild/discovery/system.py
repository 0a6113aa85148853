"""The machine (cores, memory, disk), its GPUs (nvidia-smi) and the TensorFlow source tree."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path

from tfbuild import paths, versions
from tfbuild.cachekeys import Places
from tfbuild.discovery.facts import Gpu, Gpus, Machine, Source
from tfbuild.discovery.programs import probe, which
from tfbuild.files import nearest_existing
from tfbuild.runner import Runner

GPU_QUERY = ["--query-gpu=name,compute_cap,driver_version", "--format=csv,noheader"]
TF_VERSION_HEADER = "tensorflow/core/public/version.h"


def parse_nvidia_smi(text: str) -> tuple[Gpu, ...]:
    gpus = []
    for line in text.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) >= 3 and parts[0]:
            gpus.append(Gpu(name=parts[0], compute_cap=parts[1], driver=parts[2]))
    return tuple(gpus)


def find_gpus(runner: Runner, env: Mapping[str, str]) -> Gpus:
    path = which("nvidia-smi", env)
    if not path:
        return Gpus()
    ok, out = probe(runner, [path, *GPU_QUERY])
    if not ok:
        return Gpus(nvidia_smi=path, error=out.strip()[-400:])
    return Gpus(nvidia_smi=path, gpus=parse_nvidia_smi(out))


def parse_meminfo(text: str) -> tuple[float, float]:
    values = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        fields = rest.split()
        if fields:
            values[key] = int(fields[0]) / (1024 * 1024)  # kB -> GiB
    return values.get("MemTotal", 0.0), values.get("MemAvailable", values.get("MemFree", 0.0))


def machine(disk_path: Path) -> Machine:
    try:
        total, available = parse_meminfo(Path("/proc/meminfo").read_text())
    except OSError:
        total = available = 0.0
    existing = nearest_existing(disk_path)
    free = shutil.disk_usage(existing).free / 1024**3
    return Machine(
        cpu_count=len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1),
        mem_total_gib=round(total, 1), mem_available_gib=round(available, 1),
        disk_path=str(existing), disk_free_gib=round(free, 1),
    )


def source_tree(runner: Runner, path: Path) -> Source:
    if not os.path.isdir(path):
        return Source(path=str(path))
    header = path / TF_VERSION_HEADER
    is_tf = paths.is_tf_tree(path)
    tf_version = versions.tf_version_header(header.read_text(errors="replace")) if os.path.isfile(header) else None
    bazelversion = None
    if os.path.isfile(path / ".bazelversion"):
        bazelversion = (path / ".bazelversion").read_text().strip().splitlines()[0].strip() or None
    commit = describe = None
    commit_time: int | None = None
    if os.path.exists(path / ".git"):
        ok, out = probe(runner, ["git", "-C", str(path), "rev-parse", "HEAD"])
        commit = out.strip() if ok else None
        ok, out = probe(runner, ["git", "-C", str(path), "describe", "--tags", "--always"])
        describe = out.strip() if ok else None
        ok, out = probe(runner, ["git", "-C", str(path), "log", "-1", "--format=%ct", "HEAD"])
        commit_time = int(out.strip()) if ok and out.strip().isdigit() else None
    return Source(path=str(path), exists=True, is_tf_tree=is_tf, tf_version=tf_version,
                  bazelversion=bazelversion, git_commit=commit, git_describe=describe,
                  git_commit_time=commit_time)


def key_places(source: Path | None, env: Mapping[str, str]) -> Places:
    """Directories that are this user's or this machine's own: a value under one of them in
    Bazel's keys makes a teammate's build miss the cache."""
    import sys
    import tempfile


    homes = _unique(str(Path(p).expanduser()) for p in ("~", env.get("HOME", ""), "/home", "/root") if p)
    venvs = [sys.prefix] if sys.prefix != sys.base_prefix else []
    venvs += [env[name] for name in ("VIRTUAL_ENV", "CONDA_PREFIX") if env.get(name)]
    return Places(homes=tuple(homes),
                  temp=tuple(_unique([tempfile.gettempdir(), "/tmp", "/var/tmp"])),
                  venvs=tuple(_unique(venvs)),
                  state=(str(paths.state_root()),),
                  checkout=(str(source),) if source else ())


def _unique(items) -> list[str]:
    out: list[str] = []
    for item in items:
        if item and item not in out:
            out.append(item)
    return out


def home_rc(env: Mapping[str, str]) -> tuple[tuple[int, str], ...] | None:
    """The lines of ~/.bazelrc that say something (None when there is no such file): tfbuild
    passes --nohome_rc, so doctor reports what the profile would have to carry instead."""
    home = env.get("HOME")
    if not home:
        return None
    path = Path(home) / ".bazelrc"
    try:
        if not path.is_file():
            return None
        with open(path, "rb") as handle:
            text = handle.read(1 << 20).decode("utf-8", errors="replace")
    except OSError:
        return None
    return tuple((n, line.strip()) for n, line in enumerate(text.splitlines(), 1)
                 if line.strip() and not line.strip().startswith("#"))
