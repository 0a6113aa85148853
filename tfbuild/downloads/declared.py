"""What a TF tree declares for download, before anything is fetched: the archives its
WORKSPACE and .bzl files declare as plain data (downloads/archives.py), and, for a CUDA profile
without local installs, the NVIDIA redistributions the hermetic rules will fetch. Bazel's own
record (downloads/resolved.py) completes this list after a fetch."""

from __future__ import annotations

from pathlib import Path

from tfbuild import paths, versions
from tfbuild.downloads import archives as archives_mod
from tfbuild.downloads import store as store_mod
from tfbuild.downloads.archives import Archive
from tfbuild.errors import PreconditionError
from tfbuild.settings.model import Settings


def _cuda_flags(settings: Settings) -> dict:
    cuda = settings.cuda
    return dict(cuda_version=cuda.version, cudnn_version=cuda.cudnn_version,
                local_cuda=bool(cuda.local_cuda_path), local_cudnn=bool(cuda.local_cudnn_path),
                local_nccl=bool(cuda.local_nccl_path))


def cuda_components(settings: Settings, source: Path, store: store_mod.Store
                    ) -> tuple[list[Archive], list[Archive], list[str]]:
    """(redistrib JSON files, the component archives known from JSON files in the store, notes)."""
    if not settings.cuda.enabled:
        return [], [], []
    index = archives_mod.redist_index(source, **_cuda_flags(settings))
    if index is None:
        return [], [], [f"no {archives_mod.REDIST_FILE}: NVIDIA redistributions not listed"]
    jsons = [a for a, _, _ in index.json_archives]
    parts = [index.nccl] if index.nccl else []
    major = (versions.version(settings.cuda.version) or versions.version("12")).major
    for archive, prefix, kind in index.json_archives:
        if store.has(archive):
            parts += archives_mod.redist_components(
                store.path_for(archive).read_text(), prefix, kind, index.components, str(major),
                f"{archive.name} ({archive.urls[0]})")
    return jsons, parts, []


def tfbuild_outputs(settings: Settings, distdir: Path | None = None) -> list[Path]:
    """Directories tfbuild and Bazel write that may lie inside the tree (the notes keep their
    output root there): never scanned for declared archives."""
    b = settings.build
    dirs = [paths.output_user_root(settings), paths.expand(b.dist_dir)]
    if b.disk_cache:
        dirs.append(paths.expand(b.disk_cache))
    if distdir:
        dirs.append(distdir)
    return dirs


def in_tree(settings: Settings, source: Path, distdir: Path | None = None
            ) -> tuple[list[Archive], list[str]]:
    """The archives the tree declares as plain data, and what the scan could not read."""
    if not source.is_dir():
        raise PreconditionError(f"source directory {source} does not exist",
                                hint="run `invoke source`, or pass --source DIR")
    declared = archives_mod.declared_archives(source, tfbuild_outputs(settings, distdir))
    return declared.archives, declared.skipped
