"""`invoke doctor`: discover, check, report. Changes nothing on the machine."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from tfbuild import console, paths
from tfbuild.configure import rcfile
from tfbuild.container import engine as container_engine
from tfbuild.discovery.discover import discover
from tfbuild.discovery.facts import Facts
from tfbuild.doctor.checks import FAIL, Check, container_engine_row, run_checks
from tfbuild.doctor.report import as_json, print_table
from tfbuild.errors import EXIT_NOT_ALL_OK, EXIT_OK
from tfbuild.runner import Runner
from tfbuild.settings import ResolvedProfile, resolve

PROBE_CACHE = "probe-cache.json"


def diagnose(profile: ResolvedProfile, *, source: str | Path | None = None,
             runner: Runner | None = None, network: bool = False,
             probe_cache: bool = True) -> tuple[Facts, list[Check]]:
    """Discover and check. `probe_cache`: reuse (and update) remembered probe results in the
    state root (False for dry runs, which write nothing)."""
    choice = paths.choose_source(profile.settings, source)
    facts = discover(profile.settings, source_dir=choice.path, runner=runner or Runner(echo=False),
                     network_probes=network,
                     cache=paths.state_root() / PROBE_CACHE if probe_cache else None)
    if facts.source is not None:
        facts = dataclasses.replace(facts, source=dataclasses.replace(facts.source,
                                                                      chosen_by=choice.reason))
    return facts, run_checks(profile.settings, facts)


def rc_path_checks(source: Path) -> list[Check]:
    """The LOCAL_*_PATH values `.tf_configure.bazelrc` hands Bazel must exist (not blocking:
    configure rewrites the file). Only `invoke doctor` reports them; configure is their fix."""
    if not (source / rcfile.RC_NAME).is_file():
        return []
    missing = rcfile.missing_local_paths(source)
    if not missing:
        return [Check("configure.paths", "ok", f"every LOCAL_*_PATH in {rcfile.RC_NAME} exists",
                      "existing directories")]
    found = "; ".join(f"{name}={value} does not exist" for name, value in missing)
    return [Check("configure.paths", FAIL, f"{source / rcfile.RC_NAME}: {found}",
                  "existing directories", "run `invoke configure` (it makes the CUDA shim it "
                  "names), or fix the cuda.local_*_path keys")]


def doctor(profile_ref: str | None = None, *, source: str | None = None,
           overrides: Sequence[str] = (), json_output: bool = False, verbose: bool = False,
           offline: bool = False) -> int:
    """Print the readiness report; return the exit code (0: nothing fails, 1: something does)."""
    profile = resolve(profile_ref, overrides=overrides)
    runner = Runner(echo=verbose)
    _, rows = diagnose(profile, source=source, runner=runner, network=not offline)
    rows = [*rows, *rc_path_checks(paths.source_dir(profile.settings, source))]
    docker = profile.settings.docker
    engine = container_engine.fact(docker.engine, docker.image.replace("{profile}", profile.name),
                                   runner)
    rows.append(container_engine_row(engine, profile.settings.cuda.enabled))
    if json_output:
        console.plain(as_json(profile, rows))
    else:
        print_table(profile, rows)
    return EXIT_NOT_ALL_OK if any(r.status == FAIL for r in rows) else EXIT_OK
