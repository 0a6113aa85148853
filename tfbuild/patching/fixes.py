"""The fixes of patches/ as targets: what the profile asks for, each target's status, apply and
revert (the library under `invoke patch`, which is tfbuild/patching/__init__.py).

Status of each target: applied, not-applied, not-applicable, drifted (an anchor is missing),
edited (patched, then changed by someone), outdated (patched with other profile values),
unwanted (patched, but the profile no longer asks for it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tfbuild import paths, versions
from tfbuild.downloads.urls import DEFAULT_MIRROR
from tfbuild.errors import EXIT_NOT_ALL_OK, EXIT_OK, PatchError
from tfbuild.files import atomic_write, sha256_bytes
from tfbuild.patching import engine, literals, records, shim
from tfbuild.patching.spec import PatchSpec, load
from tfbuild.settings.model import Settings

SHIM_ID = "cuda-shim"

APPLIED, NOT_APPLIED, NOT_APPLICABLE = "applied", "not-applied", "not-applicable"
DRIFTED, EDITED, OUTDATED, UNWANTED = "drifted", "edited", "outdated", "unwanted"
NEEDS_HUMAN = {DRIFTED, EDITED}
NEEDS_APPLY = {NOT_APPLIED, OUTDATED, UNWANTED, "missing"}  # missing: an rc path (report.py)


@dataclass(frozen=True)
class Target:
    """One file (or the CUDA shim) a fix concerns."""

    fix: str
    path: Path
    root_name: str  # "source", "output_base" or "state"
    relative: str
    wanted: bool
    required: bool
    params: dict = field(default_factory=dict)
    reason: str = ""  # why it is not wanted


@dataclass(frozen=True)
class FileStatus:
    target: Target
    status: str
    detail: str = ""


# -- what the profile asks for -------------------------------------------------------------------
def mirror_params(settings: Settings) -> dict:
    m = settings.mirrors
    mirror = literals.validate_url("mirrors.tf_mirror", m.tf_mirror or DEFAULT_MIRROR,
                                   allow_http=m.allow_http)
    hosts = [literals.validate_host("mirrors.direct_hosts", h) for h in m.direct_hosts]
    return {"mirror": mirror, "mirror_host": mirror.split("://", 1)[1].split("/")[0],
            "direct_hosts": hosts}


def pip_params(settings: Settings) -> dict:
    m = settings.mirrors
    return {"pip_index": literals.validate_url("mirrors.pip_index", m.pip_index,
                                               allow_http=m.allow_http)}


def _cuda_needs_lib_fix(settings: Settings) -> tuple[bool, str]:
    cuda = settings.cuda
    if not cuda.enabled:
        return False, "CUDA is disabled by the profile"
    if not cuda.local_cuda_path:
        return False, "hermetic CUDA download (no cuda.local_cuda_path)"
    root = Path(cuda.local_cuda_path)
    if (root / "lib").is_dir():
        return False, f"{root} has lib/"
    if not (root / "lib64").is_dir():
        return False, f"{root} has neither lib/ nor lib64/"
    return True, ""


def targets(settings: Settings, source: Path, output_base: Path) -> list[Target]:
    out: list[Target] = []
    mirror_wanted = (settings.mirrors.tf_mirror.rstrip("/") not in ("", DEFAULT_MIRROR)
                     or bool(settings.mirrors.direct_hosts))
    mirror = mirror_params(settings) if mirror_wanted else {}
    out += _file_targets(load("download-mirror"), source, output_base, mirror_wanted, mirror,
                         "the profile's mirror and direct hosts are TF's defaults")
    pip_wanted = settings.mirrors.pip_method == "patch" and bool(settings.mirrors.pip_index)
    out += _file_targets(load("pip-mirror"), source, output_base, pip_wanted,
                         pip_params(settings) if pip_wanted else {},
                         "mirrors.pip_method is not \"patch\" or mirrors.pip_index is empty")
    needs_fix, why_not = _cuda_needs_lib_fix(settings)
    layout = settings.cuda.layout_fix
    out += _file_targets(load("cuda-lib64"), source, output_base, needs_fix and layout == "patch",
                         {}, why_not or f"cuda.layout_fix is {layout!r}")
    shim_dir = paths.cuda_shim_dir(source, settings.cuda.local_cuda_path)
    out.append(Target(SHIM_ID, shim_dir, "state", "cuda-shim", needs_fix and layout == "shim",
                      required=True, params={"cuda_root": settings.cuda.local_cuda_path},
                      reason=why_not or f"cuda.layout_fix is {layout!r}"))
    return out


def _file_targets(spec: PatchSpec, source: Path, output_base: Path, wanted: bool, params: dict,
                  reason: str) -> list[Target]:
    root = source if spec.root == "source" else output_base
    return [Target(spec.id, root / rel, spec.root, rel, wanted, rel in spec.required, params,
                   "" if wanted else reason) for rel in spec.files]


# -- status --------------------------------------------------------------------------------------
def status_of(target: Target, recs: dict[str, records.Record], tf_version: str | None) -> FileStatus:
    if target.fix == SHIM_ID:
        return _shim_status(target)
    spec = load(target.fix)
    if not target.path.is_file():
        if target.root_name == "output_base":
            return FileStatus(target, NOT_APPLICABLE, "rules_python is not fetched yet: "
                              "`invoke build` fetches it, then applies this fix")
        if target.wanted and target.required:
            return FileStatus(target, DRIFTED, f"{target.relative} is missing; the fix is written "
                              f"for TF {', '.join(spec.tf_versions)}, this tree is TF "
                              f"{tf_version or '?'}")
        return FileStatus(target, NOT_APPLICABLE, "no such file in this tree")
    data = target.path.read_bytes()
    text = data.decode(errors="replace")
    record = recs.get(str(target.path))
    if engine.is_patched(text, spec):
        if record is None:
            return FileStatus(target, EDITED, "carries tfbuild markers but tfbuild has no record "
                              "of patching it (restore it with git, then `invoke patch`)")
        if sha256_bytes(data) != record.patched_sha256:
            return FileStatus(target, EDITED, "changed since tfbuild patched it")
        if not target.wanted:
            return FileStatus(target, UNWANTED, target.reason)
        if record.params != target.params:
            return FileStatus(target, OUTDATED, "patched with other profile values")
        return FileStatus(target, APPLIED)
    if not target.wanted:
        return FileStatus(target, NOT_APPLICABLE, target.reason)
    drift = engine.drifted_hunks(text, spec)
    if drift:
        hunk, count = drift[0]
        return FileStatus(target, DRIFTED, f"anchor {hunk.name!r} (/{hunk.anchor.pattern}/) "
                          f"found {count} times, expected once; the fix is written for TF "
                          f"{', '.join(spec.tf_versions)}, this tree is TF {tf_version or '?'}")
    return FileStatus(target, NOT_APPLIED)


def _shim_status(target: Target) -> FileStatus:
    exists = target.path.exists()
    if not target.wanted:
        return FileStatus(target, UNWANTED if exists else NOT_APPLICABLE, target.reason
                          + ("; `invoke configure` removes it" if exists else ""))
    state = shim.status(target.path, Path(target.params["cuda_root"]))
    if state != APPLIED:
        return FileStatus(target, state, "made by `invoke configure` (it names the shim as "
                          "LOCAL_CUDA_PATH): run it")
    return FileStatus(target, state, f"LOCAL_CUDA_PATH -> {target.path}")


def check(settings: Settings, source: Path, output_base: Path) -> list[FileStatus]:
    state = paths.state_dir(source)
    recs = records.load(state)
    tf_version = _tf_version(source)
    return [status_of(t, recs, tf_version) for t in targets(settings, source, output_base)]


def _tf_version(source: Path) -> str | None:
    header = source / "tensorflow/core/public/version.h"
    return versions.tf_version_header(header.read_text()) if header.is_file() else None


def check_exit_code(statuses: Sequence[FileStatus]) -> int:
    """0: everything the profile wants is applied; 1: something is to apply (or take back);
    5: drifted or edited files need a person."""
    if any(s.status in NEEDS_HUMAN for s in statuses):
        return PatchError.exit_code
    if any(s.status in NEEDS_APPLY for s in statuses):
        return EXIT_NOT_ALL_OK
    return EXIT_OK


# -- apply and revert ----------------------------------------------------------------------------
def apply(settings: Settings, source: Path, output_base: Path, *,
          only: set[str] | None = None) -> list[FileStatus]:
    """Bring every target to what the profile wants. Returns the statuses after the run;
    raises PatchError (writing nothing more) on drift or user edits in a wanted file."""
    state = paths.state_dir(source)
    recs = records.load(state)
    tf_version = _tf_version(source)
    results = []
    for target in targets(settings, source, output_base):
        if only is not None and target.fix not in only:
            continue
        current = status_of(target, recs, tf_version)
        if current.status in NEEDS_HUMAN:
            raise PatchError(f"{target.path}: {current.status}: {current.detail}",
                             hint=_human_hint(current))
        if target.fix == SHIM_ID:  # made and removed by configure, which names it in the rc
            results.append(current)
            continue
        if current.status in (OUTDATED, UNWANTED):
            _restore(target, recs, state)
            current = status_of(target, recs, tf_version)
        if current.status == NOT_APPLIED:
            _patch_file(target, recs, state)
            current = status_of(target, recs, tf_version)
        results.append(current)
    return results


def _human_hint(status: FileStatus) -> str:
    if status.status == DRIFTED:
        return (f"the upstream file changed shape; check {status.target.path} by hand, or use the "
                "non-invasive alternative where there is one (cuda.layout_fix = \"shim\", "
                "mirrors.pip_method = \"repo_env\")")
    return (f"tfbuild never overwrites edits: keep yours, or restore the file (e.g. `git checkout "
            f"-- {status.target.relative}`) and run `invoke patch` again")


def _patch_file(target: Target, recs: dict[str, records.Record], state: Path) -> None:
    spec = load(target.fix)
    original = target.path.read_bytes()
    patched = engine.apply(original.decode(), spec, target.params).encode()
    backup = records.backup_location(state, target.fix, target.root_name, target.relative)
    backup.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(backup, original)
    recs[str(target.path)] = records.Record(
        fix=target.fix, original_sha256=sha256_bytes(original),
        patched_sha256=sha256_bytes(patched), backup=str(backup), params=target.params)
    records.save(state, recs)  # the record first: a crash now leaves a restorable state
    atomic_write(target.path, patched)


def _restore(target: Target, recs: dict[str, records.Record], state: Path) -> None:
    record = recs[str(target.path)]
    backup = Path(record.backup)
    if not backup.is_file():
        raise PatchError(f"{target.path}: the backup {backup} is gone",
                         hint=f"restore the file with `git checkout -- {target.relative}`")
    original = backup.read_bytes()
    if sha256_bytes(original) != record.original_sha256:
        raise PatchError(f"{target.path}: the backup {backup} does not match the recorded hash",
                         hint=f"restore the file with `git checkout -- {target.relative}`")
    atomic_write(target.path, original)
    del recs[str(target.path)]
    records.save(state, recs)


def revert(settings: Settings, source: Path, output_base: Path) -> tuple[list[Path], list[FileStatus]]:
    """Restore every file tfbuild patched, byte for byte. Edited files are reported, never
    overwritten. Returns (restored paths, statuses that were left alone)."""
    state = paths.state_dir(source)
    recs = records.load(state)
    restored: list[Path] = []
    left: list[FileStatus] = []
    by_path = {str(t.path): t for t in targets(settings, source, output_base)}
    for key, record in sorted(recs.items()):
        path = Path(key)
        target = by_path.get(key) or Target(record.fix, path, "source", key, False, False)
        if not path.is_file():
            del recs[key]
            continue
        if sha256_bytes(path.read_bytes()) != record.patched_sha256:
            left.append(FileStatus(target, EDITED, "changed since tfbuild patched it: left as is"))
            continue
        _restore(target, recs, state)
        restored.append(path)
    records.save(state, recs)
    # The CUDA shim is not an edit to the tree: `.tf_configure.bazelrc` may name it, so it stays
    # (configure owns it), and the tree stays buildable.
    return restored, left
