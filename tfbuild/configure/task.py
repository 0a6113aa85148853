"""`invoke configure`: a validated profile -> `<source>/.tf_configure.bazelrc` and the recorded
build environment.

configure owns everything the rc file names that tfbuild makes: the CUDA shim (a runfile CUDA's
lib64 seen as lib, outside the TF tree) is built before the rc file names it and removed only
after the rc file stops naming it, so a plain `bazel build` works as soon as configure returns.
`invoke patch` owns the edits to files, and nothing else."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tfbuild import console, environment, pathcheck, paths
from tfbuild.configure import rcfile
from tfbuild.configure.plan import plan as make_plan
from tfbuild.discovery.facts import Facts
from tfbuild.doctor.task import diagnose
from tfbuild.doctor.rows import Check
from tfbuild.errors import ConfigError, PreconditionError
from tfbuild.patching import shim
from tfbuild.runner import Runner
from tfbuild.settings import ResolvedProfile, resolve

# Bazel is checked by build, which runs it; configure only writes files.
NOT_BLOCKING_CONFIGURE = {"bazel"}


@dataclass(frozen=True)
class ConfigureResult:
    rc_path: Path
    content: str
    changed: bool
    backup: Path | None
    environment: environment.BuildEnvironment
    facts: Facts
    checks: tuple[Check, ...]
    replaced_link: str | None = None  # the rc file was a symlink to this


def require_tf_tree(source: Path) -> None:
    if source.exists():
        pathcheck.readable_dir(source, "--source (or tensorflow.source_dir)")
    if not source.is_dir():
        raise PreconditionError(f"--source (or tensorflow.source_dir): {source} does not exist",
                                hint="pass --source DIR, set tensorflow.source_dir, or run "
                                "`invoke source` to clone TensorFlow")
    missing = [name for name in paths.TF_TREE_MARKERS if not (source / name).exists()]
    if missing:
        raise PreconditionError(f"{source} is not a TensorFlow source tree (no {', '.join(missing)})",
                                hint="pass --source DIR of a TensorFlow checkout")


def require_writable(src: Path, rc_path: Path) -> None:
    """Everything configure writes can be written, checked before anything is."""
    if rc_path.is_dir() and not rc_path.is_symlink():
        raise ConfigError(f"{rc_path} is a directory: configure cannot replace it with the rc file",
                          hint=f"remove the directory {rc_path}")
    bazelrc = src / ".bazelrc"
    if os.path.lexists(bazelrc) and not bazelrc.is_file():
        raise ConfigError(f"{bazelrc} is not a file (a directory, a broken link or a special "
                          "file): Bazel reads the tree's .bazelrc, and it imports "
                          f"{rcfile.RC_NAME} from it",
                          hint=f"restore {bazelrc} from the TensorFlow checkout "
                          "(git checkout -- .bazelrc)")
    pathcheck.writable_dir(src, "--source (or tensorflow.source_dir)")
    paths.checked_state_dir(src)


def blocking_failures(rows: Sequence[Check], ignore: set[str]) -> list[Check]:
    return [r for r in rows if r.blocks and r.id not in ignore]


def refuse_if_blocked(rows: Sequence[Check], step: str, ignore: set[str]) -> None:
    failures = blocking_failures(rows, ignore)
    if failures:
        lines = "\n".join(f"  - {r.id}: {r.found}\n      fix: {r.hint}" for r in failures)
        raise PreconditionError(
            f"{step} refused, nothing written: blocking doctor checks fail:\n{lines}",
            hint="fix them (see `invoke doctor`), or pass --force to go on anyway"
            if step == "configure" else "fix them (see `invoke doctor`); `invoke configure "
            "--force` writes the rc file regardless, but the build still checks")


def warn_failures(rows: Sequence[Check], ignore: set[str]) -> None:
    for row in rows:
        if row.status == "fail" and row.id not in ignore:
            console.warn(f"doctor check {row.id} fails: {row.found} (fix: {row.hint})")


def run_configure(profile: ResolvedProfile, *, source: str | Path | None = None,
                  dry_run: bool = False, force: bool = False,
                  runner: Runner | None = None, step: str = "configure",
                  not_blocking: set[str] = NOT_BLOCKING_CONFIGURE) -> ConfigureResult:
    settings = profile.settings
    src = paths.source_dir(settings, source)
    require_tf_tree(src)
    facts, rows = diagnose(profile, source=src, runner=runner or Runner(echo=False),
                           probe_cache=not dry_run)
    if not force:
        refuse_if_blocked(rows, step, not_blocking)
    warn_failures(rows, not_blocking)
    env = environment.compute(settings, facts, output_base=paths.output_base(settings, src))
    shim_dir = paths.cuda_shim_dir(src, settings.cuda.local_cuda_path)
    plan = make_plan(settings, facts, env, profile=profile.name, shim=str(shim_dir))
    content = rcfile.render(plan)
    rc_path = src / rcfile.RC_NAME
    if dry_run:
        current = rc_path.read_text(errors="replace") if rc_path.exists() else ""
        return ConfigureResult(rc_path, content, current != content, None, env, facts, tuple(rows))
    require_writable(src, rc_path)
    state = paths.state_dir(src)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    names_shim = _names(plan, shim_dir)
    if names_shim:  # first the directory, then the file that names it
        shim.build(shim_dir, Path(settings.cuda.local_cuda_path))
    # The state directory first: when it cannot be written (full, a loop), the tree is untouched.
    environment.save(env, state)
    outcome = rcfile.write(rc_path, content, backup_dir=state / "backups", stamp=stamp)
    for old in shim.owned(state):  # shims of other toolkits: the rc no longer names them
        if not (names_shim and old == shim_dir):
            shim.remove(old)
    return ConfigureResult(rc_path, content, outcome.changed, outcome.backup, env, facts,
                           tuple(rows), outcome.replaced_link)


def _names(plan, shim_dir: Path) -> bool:
    """Whether the rc file hands Bazel the CUDA shim as LOCAL_CUDA_PATH."""
    return any(e.name == "LOCAL_CUDA_PATH" and e.value == str(shim_dir) for e in plan.cuda_repo_env)


def configure(profile_ref: str | None = None, *, source: str | None = None,
              overrides: Sequence[str] = (), dry_run: bool = False, force: bool = False) -> int:
    profile = resolve(profile_ref, overrides=overrides)
    result = run_configure(profile, source=source, dry_run=dry_run, force=force)
    if dry_run:
        current = result.rc_path.read_text(errors="replace") if result.rc_path.exists() else ""
        text = rcfile.diff(current, result.content, result.rc_path)
        console.step(f"configure --dry-run: {result.rc_path} would "
                     + ("change:" if text else "stay as it is (nothing to write)"))
        if text:
            console.plain(text)
        print_environment(result.environment, None)
        return 0
    if result.replaced_link:
        console.warn(f"{result.rc_path} was a symlink to {result.replaced_link}: it is now a "
                     f"file of its own; the link's target is left as it was"
                     + (f", and its content is kept in {result.backup}" if result.backup else ""))
    elif result.backup:
        console.warn(f"{result.rc_path} was not written by tfbuild or was edited since: the "
                     f"previous content is kept in {result.backup}")
    console.success(f"{result.rc_path} " + ("written" if result.changed else
                                            "unchanged (same content; mtime kept)"))
    print_environment(result.environment, paths.state_dir(result.rc_path.parent))
    return 0


def print_environment(env: environment.BuildEnvironment, state: Path | None) -> None:
    where = f" (recorded in {state / environment.ENV_JSON}; `. {state / environment.ENV_SH}` " \
            "in a shell)" if state else ""
    console.step(f"environment for build and smoke-test{where}:")
    for name, value in env.variables:
        console.plain(f"  {name}={value}")
