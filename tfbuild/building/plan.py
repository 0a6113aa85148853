"""The build plan: every Bazel argument and the client environment, computed once.

`invoke build`, `build --dry-run` (which prints it) and prefetch's fetch step all take their
Bazel command from `make_plan`, so a dry run shows exactly the argv the build then runs and
prefetch fetches with exactly the build's options. It reads the configure result (the machine's
facts), never probes: the steps that touch the tree (configure, patch, the pip-mirror fix) run
before or after it, in the task modules.

With `write=False` (a dry run) nothing is written: not the downloader config, not the
netty-tcnative copy, not the temp dir.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tfbuild import environment, paths, sizing
from tfbuild.building.command import BazelCommand, BuildRequest, fetch_rules_python, plan_command
from tfbuild.downloads import downloader_config, resolved
from tfbuild.errors import BuildFailed
from tfbuild.settings import ResolvedProfile

if TYPE_CHECKING:  # the configure task's result; the plan only reads it
    from tfbuild.configure.task import ConfigureResult


@dataclass(frozen=True)
class BuildPlan:
    source: Path
    state: Path
    output_base: Path
    request: BuildRequest  # what the user asked, with every derived option filled in
    command: BazelCommand
    client_env: dict[str, str | None]  # changes to the Bazel client's environment (None: unset)
    pip_fetch: BazelCommand | None  # fetch rules_python first (mirrors.pip_method = "patch")

    def argv(self) -> list[str]:
        """The argv as recorded and printed (secrets out, this run's output files out)."""
        return self.command.argv(with_secrets=False, with_run_options=False)


def jobs(profile: ResolvedProfile, request: BuildRequest, cfg: ConfigureResult) -> int:
    """--jobs, else build.jobs, else what the machine's cores and memory carry."""
    if request.jobs:
        return request.jobs
    settings = profile.settings
    if settings.build.jobs:
        return settings.build.jobs
    return sizing.recommended_jobs(cfg.facts.machine, settings.cuda.enabled,
                                   sizing.bazel_heap_gib(settings, cfg.facts.machine)
                                   ) if cfg.facts.machine else 1


def pip_patch_wanted(settings) -> bool:
    m = settings.mirrors
    return m.pip_method == "patch" and bool(m.pip_index)


def client_environment(settings, cfg: ConfigureResult, *, create: bool = True
                       ) -> dict[str, str | None]:
    """The Bazel client's environment changes (environment.bazel_client_env) with the profile's
    action PATH and tfbuild's stable temp dir (made here unless `create` is False)."""
    temp = paths.bazel_temp_dir(settings)
    if create:
        temp.mkdir(parents=True, exist_ok=True)
    return environment.bazel_client_env(
        cfg.environment, cfg.facts, settings.build.action_path_dirs, str(temp),
        library_path=environment.action_library_dirs(settings, cfg.facts))


def tls_provider(settings, request: BuildRequest, cfg: ConfigureResult, *,
                 install: bool = True) -> BuildRequest:
    """grpcs:// with Debian's Bazel needs netty-tcnative handed to its server (build.remote)."""
    if not any(u.startswith("grpcs://") for u in (
            request.remote_cache or "", settings.remote.cache, settings.remote.executor)):
        return request
    from tfbuild.building.remote import with_tls_provider

    return with_tls_provider(settings, request, cfg.facts, install=install)


def make_plan(profile: ResolvedProfile, source: Path, request: BuildRequest,
              cfg: ConfigureResult, *, write: bool = True) -> BuildPlan:
    """The one place the build's Bazel command is made. `request.offline_options` (the store's
    --distdir, checked by the caller for --offline) is kept; a bare --distdir becomes one."""
    settings = profile.settings
    state = paths.state_dir(source)
    if request.distdir and not request.offline_options:
        request = dataclasses.replace(request, offline_options=(f"--distdir={request.distdir}",))
    request = tls_provider(settings, request, cfg, install=write)
    request = dataclasses.replace(
        request, download_options=downloader_config.options(settings, source, write=write),
        record_options=(resolved.option(state),))
    bazel = cfg.facts.bazel.path
    if not bazel and write:
        raise BuildFailed("no Bazel found", hint="install bazelisk, or set toolchain.bazel")
    command = plan_command(settings, request, bazel=bazel or "bazel",
                           jobs=jobs(profile, request, cfg), env=dict(os.environ),
                           machine=cfg.facts.machine)
    return BuildPlan(source=source, state=state, output_base=paths.output_base(settings, source),
                     request=request, command=command,
                     client_env=client_environment(settings, cfg, create=write),
                     pip_fetch=fetch_rules_python(command) if pip_patch_wanted(settings) else None)
