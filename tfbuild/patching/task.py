"""`invoke patch [--check | --revert]`: the notes' three source fixes (patches/), applied,
checked and reverted; the report and the exit codes. The fixes themselves: fixes.py (targets,
statuses, apply, revert), engine.py (pure text), records.py, shim.py, spec.py."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tfbuild import console, paths
from tfbuild.configure import rcfile
from tfbuild.errors import EXIT_NOT_ALL_OK, EXIT_OK, PatchError, PreconditionError
from tfbuild.patching.fixes import (APPLIED, NEEDS_APPLY, NEEDS_HUMAN, FileStatus, Target, apply,
                                    check, check_exit_code, revert)
from tfbuild.pathcheck import readable_dir
from tfbuild.settings import resolve

STYLE = {APPLIED: "green", "drifted": "bold red", "edited": "bold red"}


def print_statuses(title: str, statuses: Sequence[FileStatus]) -> None:
    rows = [[s.target.fix, s.target.relative, s.status, s.detail] for s in statuses]
    styles = [STYLE.get(s.status, "yellow" if s.status in NEEDS_APPLY else None) for s in statuses]
    console.table(title, ["fix", "file", "status", "detail"], rows, styles=styles)


MISSING = "missing"


def rc_path_statuses(source: Path) -> list[FileStatus]:
    """A row for each LOCAL_*_PATH of `.tf_configure.bazelrc` that does not exist."""
    return [FileStatus(Target("configure", Path(value), "source", f"{rcfile.RC_NAME}: {name}",
                              True, True), MISSING, f"{value} does not exist: run `invoke configure`")
            for name, value in rcfile.missing_local_paths(source)]


def patch(profile_ref: str | None = None, *, source: str | None = None,
          overrides: Sequence[str] = (), check_only: bool = False, undo: bool = False) -> int:
    profile = resolve(profile_ref, overrides=overrides)
    settings = profile.settings
    src = paths.source_dir(settings, source)
    if src.exists():
        readable_dir(src, "--source (or tensorflow.source_dir)")
    if not src.is_dir():
        raise PreconditionError(f"--source (or tensorflow.source_dir): {src} does not exist",
                                hint="pass --source DIR or set tensorflow.source_dir")
    output_base = paths.output_base(settings, src)
    if undo:
        restored, left = revert(settings, src, output_base)
        for path in restored:
            console.success(f"restored {path}")
        if not restored:
            console.info("nothing to revert")
        for status in left:
            console.error(f"{status.target.path}: {status.detail}")
        return PatchError.exit_code if left else EXIT_OK
    if check_only:
        statuses = [*check(settings, src, output_base), *rc_path_statuses(src)]
        print_statuses(f"patch --check ({profile.name})", statuses)
        code = check_exit_code(statuses)
        if any(s.status == MISSING for s in statuses):
            console.warn(f"{src / rcfile.RC_NAME} names a LOCAL_*_PATH that does not exist: run "
                         "`invoke configure`")
        elif code == EXIT_NOT_ALL_OK:
            console.warn("some fixes are not applied: run `invoke patch`")
        elif code == PatchError.exit_code:
            console.error("some files drifted or were edited: see the detail column")
        return code
    statuses = apply(settings, src, output_base)
    print_statuses(f"patch ({profile.name})", statuses)
    if any(s.status in NEEDS_HUMAN for s in statuses):
        return PatchError.exit_code
    return EXIT_OK
