"""The Bazel command line, computed as data from the settings (pure).

The notes' shape: `bazel --output_user_root=<root> build --local_cpu_resources=<jobs>
--verbose_failures <targets> --repo_env=... --config=cuda_wheel`, then cache and remote options,
then the user's pass-through options last, so they win. Startup options depend only on the
profile, so that a second run reuses the Bazel server and its analysis cache.
"""

from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tfbuild import paths, sizing
from tfbuild.errors import ConfigError
from tfbuild.settings.model import Settings

# Output that tfbuild parses; kept the same on every run (UI options do not touch the caches).
UI_OPTIONS = ("--color=no", "--curses=no", "--show_progress_rate_limit=1")
REMOTE_SCHEMES = ("http://", "https://", "grpc://", "grpcs://", "unix:")
# The user's ~/.bazelrc is not read: the profile (bazel_options, startup_options, caches) is the
# whole personal configuration, the same on every machine and all in the manifest's argv. The
# system rc stays (Debian's Bazel sets its install base there: without it Bazel cannot start);
# the manifest records it (tfbuild/building/bazel_rc_files.py). The workspace's .bazelrc is read as ever.
RC_ISOLATION = ("--nohome_rc",)


@dataclass(frozen=True)
class BazelCommand:
    bazel: str
    startup: tuple[str, ...]
    command: str
    options: tuple[str, ...]
    targets: tuple[str, ...]
    secret_options: tuple[str, ...] = ()  # e.g. --remote_header=...; never shown or recorded
    secret_note: str = ""  # where the secret options come from, for display
    # This run's output files (build events, profile): first, so a --bazel-opt can override
    # them; left out of the recorded argv, so that identical builds record identical commands.
    run_options: tuple[str, ...] = ()

    def argv(self, *, with_secrets: bool = True, with_run_options: bool = True) -> list[str]:
        extra = list(self.secret_options) if with_secrets else []
        run = list(self.run_options) if with_run_options else []
        return [self.bazel, *self.startup, self.command, *run, *self.options, *extra,
                *self.targets]

    def shell(self, cwd: Path, env: Mapping[str, str | None]) -> str:
        """Copy-pasteable: cd, the environment (None: unset), the command (secrets shown as
        $NAME)."""
        unset = " ".join(f"-u {k}" for k, v in env.items() if v is None)
        assigns = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items() if v is not None)
        prefix = " ".join(part for part in ("env", unset, assigns) if part)
        text = f"cd {shlex.quote(str(cwd))} && {prefix} {shlex.join(self.argv(with_secrets=False))}"
        return text + (f"  # plus {self.secret_note}" if self.secret_note else "")


@dataclass(frozen=True)
class BuildRequest:
    """What the user asked for on the command line, on top of the profile."""

    jobs: int | None = None
    bazel_opts: tuple[str, ...] = ()
    remote_cache: str | None = None
    keep_going: bool = False
    offline: bool = False
    offline_options: tuple[str, ...] = ()  # --distdir of the prefetched archives
    distdir: Path | None = None  # --distdir: a distdir `invoke prefetch --distdir` filled
    startup_extra: tuple[str, ...] = ()  # e.g. netty-tcnative for Debian's Bazel (build.remote)
    download_options: tuple[str, ...] = ()  # --experimental_downloader_config (the mirror)
    record_options: tuple[str, ...] = ()  # where Bazel writes what it fetched (downloads.resolved)

    def as_flags(self) -> list[str]:
        """The user's part of the request as `invoke build` flags: what `build --in-docker`
        hands to the build inside the image, so that it makes the same plan there. Only what
        the user asked; the derived options are made again from the image's profile."""
        if self.distdir or self.offline_options:
            raise ConfigError("--distdir is not passed into the container (--in-docker): the "
                              "image sees only the source tree and tfbuild's state",
                              hint="drop --distdir, or build without --in-docker")
        return [*(f"--bazel-opt={o}" for o in self.bazel_opts),
                *(["--jobs", str(self.jobs)] if self.jobs else []),
                *(["--remote-cache", self.remote_cache] if self.remote_cache is not None else []),
                *(["--keep-going"] if self.keep_going else []),
                *(["--offline"] if self.offline else [])]


def remote_options(settings: Settings, request: BuildRequest,
                   env: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """(options, secret options) for the disk cache, remote cache/executor and auth header."""
    remote, build = settings.remote, settings.build
    opts: list[str] = []
    if build.disk_cache:
        opts.append(f"--disk_cache={paths.expand(build.disk_cache)}")
    cache = request.remote_cache if request.remote_cache is not None else remote.cache
    for flag, url, key in (("--remote_cache", cache, "remote.cache (or --remote-cache)"),
                           ("--remote_executor", remote.executor, "remote.executor")):
        if url:
            if not url.startswith(REMOTE_SCHEMES):
                raise ConfigError(f"{key} = {url!r} is not a Bazel remote URL",
                                  hint=f"use one of {', '.join(REMOTE_SCHEMES)}")
            opts.append(f"{flag}={url}")
    tls = tls_options(settings)
    if cache or remote.executor:
        opts += tls
    if remote.instance_name:
        opts.append(f"--remote_instance_name={remote.instance_name}")
    if (cache or remote.executor) and not remote.upload_local_results:
        opts.append("--noremote_upload_local_results")
    if remote.tf_public_cache:
        _refuse_other_caches(settings, cache)
        opts.append("--config=tf_public_cache")
    if remote.executor:
        _refuse_host_paths(settings)
        opts += executor_options(settings)
    secrets: list[str] = []
    if remote.header_env:
        value = env.get(remote.header_env, "")
        if not value or ":" not in value:
            raise ConfigError(
                f"remote.header_env names {remote.header_env}, which is "
                + ("not set" if not value else "not of the form 'Header: value'"),
                hint=f"export {remote.header_env}='Authorization: Bearer <token>', or set "
                "remote.header_env to \"\"")
        name, _, val = value.partition(":")
        secrets.append(f"--remote_header={name.strip()}={val.strip()}")
    return opts, secrets


TLS_FLAGS = (("tls_ca", "--tls_certificate"), ("tls_client_cert", "--tls_client_certificate"),
             ("tls_client_key", "--tls_client_key"))  # the same names in Bazel 4.2 to 7


def tls_options(settings: Settings) -> list[str]:
    """Bazel's TLS flags from remote.tls_* (paths made absolute); a client certificate and its
    key come together. The files themselves are checked by build.remote.preflight."""
    remote = settings.remote
    if bool(remote.tls_client_cert) != bool(remote.tls_client_key):
        have, missing = (("remote.tls_client_cert", "remote.tls_client_key")
                         if remote.tls_client_cert else
                         ("remote.tls_client_key", "remote.tls_client_cert"))
        raise ConfigError(f"{have} is set but {missing} is not",
                          hint="a client certificate needs its key: set both, or neither")
    return [f"{flag}={paths.expand(value)}" for key, flag in TLS_FLAGS
            if (value := getattr(remote, key))]


# TF's .bazelrc sets `build --spawn_strategy=standalone`, so with only --remote_executor every
# action would still run here. This is Bazel's own default list when no strategy is set and an
# executor is (blog.bazel.build/2019/06/19/list-strategy.html): remote first, local for actions
# tagged no-remote. A --bazel-opt=--spawn_strategy=... comes later and wins.
EXECUTOR_STRATEGY = "--spawn_strategy=remote,worker,sandboxed,local"
REMOTE_JOBS = 50  # remote.jobs = 0: actions in flight with an executor (local: --local_cpu_resources)


def executor_options(settings: Settings) -> list[str]:
    """With remote.executor: remote first, the platform the workers must offer, many actions in
    flight, only the top-level outputs downloaded when asked (dist/ takes them from the build
    events), and local fallback only when asked."""
    remote = settings.remote
    opts = [EXECUTOR_STRATEGY, f"--jobs={remote.jobs or REMOTE_JOBS}"]
    if remote.download_outputs == "toplevel":
        opts.append("--remote_download_toplevel")
    opts += [f"--remote_default_exec_properties={k}={v}"
             for k, v in sorted(remote.exec_properties.items())]
    if remote.local_fallback:
        opts.append("--remote_local_fallback")
    return opts


def _refuse_other_caches(settings: Settings, cache: str | None) -> None:
    """`--config=tf_public_cache` sets --remote_cache itself: after the user's options it would
    silently replace them."""
    others = [key for key, value in (("remote.cache (or --remote-cache)", cache),
                                     ("remote.executor", settings.remote.executor)) if value]
    if others:
        raise ConfigError(f"remote.tf_public_cache and {' and '.join(others)} are both set: "
                          "TF's public cache would replace the cache options",
                          hint="use one: set remote.tf_public_cache = false, or clear "
                               + " and ".join(k.split(" ")[0] for k in others))


def host_toolchain_paths(settings: Settings) -> list[tuple[str, str]]:
    """(key, path) of toolchain parts that live on this machine only."""
    cuda = settings.cuda
    keys = [("toolchain.clang_prefix", settings.toolchain.clang_prefix)]
    if cuda.enabled:
        keys += [("cuda.local_cuda_path", cuda.local_cuda_path),
                 ("cuda.local_cudnn_path", cuda.local_cudnn_path),
                 ("cuda.local_nccl_path", cuda.local_nccl_path)]
    return [(key, value) for key, value in keys if value]


def _refuse_host_paths(settings: Settings) -> None:
    """Remote workers cannot run a compiler from the LLVM tarball under /media/... or use the
    CUDA shim in tfbuild's state dir: they do not have those paths."""
    found = host_toolchain_paths(settings)
    if found and not settings.remote.workers_have_host_paths:
        names = ", ".join(f"{key} = {value!r}" for key, value in found)
        raise ConfigError(f"remote.executor is set, but the toolchain is on host paths the "
                          f"remote workers do not have: {names}",
                          hint="clear those keys (the workers' image provides the toolchain), "
                               "use remote.cache instead of remote.executor, or set "
                               "remote.workers_have_host_paths = true if every worker has them")


def secret_note(settings: Settings) -> str:
    env_name = settings.remote.header_env
    return f"--remote_header=<the value of ${env_name}>" if env_name else ""


def plan_command(settings: Settings, request: BuildRequest, *, bazel: str, jobs: int,
                 env: Mapping[str, str], machine=None) -> BazelCommand:
    """`machine` (discovery's Machine facts) decides the JVM heap cap (sizing.heap_plan)."""
    build = settings.build
    startup = [f"--output_user_root={paths.output_user_root(settings)}", *RC_ISOLATION,
               *sizing.jvm_startup_options(settings, machine), *build.startup_options,
               *request.startup_extra]
    options = [f"--local_cpu_resources={jobs}", *build.bazel_options]
    options += [f"--repo_env={k}={v}" for k, v in build.repo_env.items()]
    options += [f"--config={c}" for c in build.configs]
    remote, secrets = remote_options(settings, request, env)
    options += remote
    options += UI_OPTIONS
    options += request.offline_options
    options += request.download_options
    options += request.record_options
    if request.keep_going:
        options.append("--keep_going")
    options += request.bazel_opts
    return BazelCommand(bazel=bazel, startup=tuple(startup), command="build",
                        options=tuple(options), targets=tuple(build.targets),
                        secret_options=tuple(secrets), secret_note=secret_note(settings))


RULES_PYTHON_INSTALLER = "@rules_python//python/private/pypi/whl_installer:wheel_installer.py"


def fetch_rules_python(cmd: BazelCommand) -> BazelCommand:
    """`bazel build --nobuild` of rules_python's wheel_installer.py with the build's own startup
    options and options (so the same server, the same `build:` configs and `build --repo_env`
    lines, and no analysis cache discarded): it fetches @rules_python, and nothing pip-related,
    before the build, so the pip-mirror fix is in place when pip first runs. A `query` cannot
    do this: it reads no `build:` configs ("Config value 'cuda_wheel' is not defined in any .rc
    file") and none of the rc's `build --repo_env` lines."""
    return dataclasses.replace(cmd, options=(*cmd.options, "--nobuild"),
                               targets=(RULES_PYTHON_INSTALLER,))


