"""tfbuild's command line: thin Invoke tasks over the tfbuild library, shipped as the
`tfbuild` program (invoke.Program over this module's Collection, `[project.scripts]` in
pyproject.toml); the checkout's tasks.py re-exports the Collection, so `invoke doctor` there
runs the same tasks. The only module of the package that knows Invoke.

Each task parses flags and calls one library function; errors become a message and an exit code
(TFBUILD_DEBUG=1 shows the traceback).
"""

from __future__ import annotations

import os
from collections.abc import Callable

from invoke import Collection, Exit, Program, task

from tfbuild import __version__, console
from tfbuild.errors import TfbuildError

PROFILE_HELP = "profile name (profiles/NAME.toml) or path to a .toml file; default $TFBUILD_PROFILE or cpu"
SET_HELP = "override one setting, section.key=value (repeatable), e.g. --set build.jobs=8"
SOURCE_HELP = ("TensorFlow source tree (default: the current directory when it is one, else "
               "tensorflow.source_dir of the profile)")


def _call(fn: Callable[..., int | None], *args, **kwargs) -> None:
    try:
        code = fn(*args, **kwargs)
    except TfbuildError as exc:
        if os.environ.get("TFBUILD_DEBUG"):
            raise
        console.error(str(exc))
        raise Exit(code=exc.exit_code) from None
    except KeyboardInterrupt:
        console.error("interrupted")
        raise Exit(code=130) from None
    except (OSError, UnicodeDecodeError) as exc:  # a path check missed: still one line, no traceback
        if os.environ.get("TFBUILD_DEBUG"):
            raise
        if isinstance(exc, UnicodeDecodeError):
            console.error(f"a file is not UTF-8 text: {exc}")
            raise Exit(code=2) from None
        where = " -> ".join(str(f) for f in (exc.filename, exc.filename2) if f)
        console.error(f"{where or 'a file'}: {exc.strerror or exc}")
        raise Exit(code=3) from None
    if code:
        raise Exit(code=code)


def _int_flag(flag: str, value, minimum: int) -> int | None:
    """An integer flag, refused (exit 2, like any bad setting) when not a number >= minimum."""
    if value is None:
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = None
    if number is None or number < minimum:
        console.error(f"{flag} {value!r}: expected an integer >= {minimum}\n"
                      f"  fix: pass {flag} N with N >= {minimum}")
        raise Exit(code=2)
    return number


@task(
    help={"profile": PROFILE_HELP, "source": SOURCE_HELP, "set": SET_HELP,
          "json": "print one JSON document (keys: profile, checks, summary) instead of a table",
          "verbose": "echo every probe command",
          "offline": "skip the network checks (mirror, direct hosts, pip index, git remote)"},
    iterable=["set"],
)
def doctor(c, profile=None, source=None, set=None, json=False, verbose=False, offline=False):
    """Check this machine against a profile: found, missing, and how to fix it."""
    from tfbuild.doctor import doctor as run

    _call(run, profile, source=source, overrides=set or [], json_output=json, verbose=verbose,
          offline=offline)


@task(help={"show": "print one profile resolved, with where each value came from",
            "set": SET_HELP},
      iterable=["set"])
def profiles(c, show=None, set=None):
    """List the profiles, or show one resolved (--show NAME)."""
    from tfbuild.settings.report import list_profiles, show_profile

    if show:
        _call(show_profile, show, set or [])
    else:
        _call(list_profiles)


ns = Collection(doctor, profiles)


@task(
    help={"profile": PROFILE_HELP, "source": SOURCE_HELP, "set": SET_HELP,
          "dry_run": "print the diff against the current file and the environment; write nothing",
          "force": "write even when blocking doctor checks fail"},
    iterable=["set"],
)
def configure(c, profile=None, source=None, set=None, dry_run=False, force=False):
    """Write <source>/.tf_configure.bazelrc from a validated profile; record the build env."""
    from tfbuild.configure import configure as run

    _call(run, profile, source=source, overrides=set or [], dry_run=dry_run, force=force)


ns.add_task(configure)


@task(
    help={"profile": PROFILE_HELP, "source": SOURCE_HELP, "set": SET_HELP,
          "check": "report each fix (applied, not-applied, not-applicable, drifted, edited, "
                   "outdated, unwanted); exit 0 all applied, 1 something to apply, 5 drifted/edited",
          "revert": "restore every patched file byte for byte (edited files are left alone)"},
    iterable=["set"],
)
def patch(c, profile=None, source=None, set=None, check=False, revert=False):
    """Apply, check or revert the download-mirror, pip-mirror and local-CUDA fixes."""
    from tfbuild.patching import patch as run

    _call(run, profile, source=source, overrides=set or [], check_only=check, undo=revert)


ns.add_task(patch)


@task(
    help={"profile": PROFILE_HELP, "source": SOURCE_HELP, "set": SET_HELP,
          "dry_run": "print the plan and the exact Bazel command; run nothing",
          "jobs": "--local_cpu_resources (default: build.jobs, else what doctor recommends)",
          "bazel_opt": "extra Bazel option, added last so it wins (repeatable)",
          "remote_cache": "remote cache URL (http(s)://, grpc(s)://), overrides remote.cache",
          "keep_going": "pass --keep_going to Bazel",
          "offline": "build from what `invoke prefetch` stored; fail fast, naming any archive "
                     "that would need the network",
          "in_docker": "run the same build inside the profile's image (invoke docker-build)"},
    iterable=["set", "bazel_opt"],
)
def build(c, profile=None, source=None, set=None, dry_run=False, jobs=None, bazel_opt=None,
          remote_cache=None, keep_going=False, offline=False, in_docker=False):
    """Build the wheel and libtensorflow into dist/<profile>/ (doctor, configure, patch, Bazel).

    Artifacts come with SHA256SUMS and manifest.json; the raw Bazel log is in the state dir.
    """
    from tfbuild.building import build as run

    _call(run, profile, source=source, overrides=set or [], dry=dry_run,
          jobs=_int_flag("--jobs", jobs, 0) or None, bazel_opts=bazel_opt or [],
          remote_cache=remote_cache, keep_going=keep_going, offline=offline, in_docker=in_docker)


@task(help={"profile": PROFILE_HELP, "source": SOURCE_HELP, "set": SET_HELP}, iterable=["set"])
def source(c, profile=None, source=None, set=None):
    """Shallow-clone TensorFlow at the profile's git ref into the source directory."""
    from tfbuild.building.source import clone_command

    _call(clone_command, profile, source=source, overrides=set or [])


@task(help={"diff": "manifest A (a manifest.json or a dist/<profile> directory)",
            "other": "manifest B, given after A: invoke manifest --diff A B",
            "show_run": "also compare the run section (dates, durations, host)"},
      positional=["other"])
def manifest(c, diff, other, show_run=False):
    """Compare two builds' manifests: invoke manifest --diff A B."""
    from tfbuild.building.manifest import diff_command

    _call(diff_command, diff, other, include_run=show_run)


ns.add_task(build)
ns.add_task(source)
ns.add_task(manifest)


@task(
    help={"profile": PROFILE_HELP, "source": SOURCE_HELP, "set": SET_HELP,
          "wheel": "TensorFlow wheel to test (default: the one in dist/<profile>/)",
          "libtensorflow": "directory with libtensorflow.so.2 for the C API run (default: the "
                           "wheel's libtensorflow_cc.so.2)",
          "cc": "C compiler (default: toolchain.clang_path, else gcc)",
          "input_op": "input operation name for the C run (default: the exported graph's)",
          "output_op": "output operation name for the C run (default: the exported graph's)",
          "keep": "keep the work directory (venv, models, C program)",
          "json": "also print the JSON result"},
    iterable=["set"],
)
def smoke_test(c, profile=None, source=None, set=None, wheel=None, libtensorflow=None, cc=None,
               input_op=None, output_op=None, keep=False, json=False):
    """Train a Keras model, run it through the C API, compare with Python."""
    from tfbuild.smoke import smoke_test as run

    _call(run, profile, source=source, overrides=set or [], wheel=wheel,
          libtensorflow=libtensorflow, cc=cc, input_op=input_op, output_op=output_op, keep=keep,
          json_output=json)


ns.add_task(smoke_test, name="smoke-test")


@task(
    help={"profile": PROFILE_HELP, "source": SOURCE_HELP, "set": SET_HELP,
          "distdir": "store the archives here (by file name) and make `build --offline` pass "
                     "--distdir; default: Bazel's repository cache of build.output_user_root",
          "jobs": "parallel downloads (default 4)",
          "bazel": "then let Bazel fetch what the build's targets need (build --nobuild); "
                   "--no-bazel: downloads only, every declared archive counts as needed"},
    iterable=["set"],
)
def prefetch(c, profile=None, source=None, set=None, distdir=None, jobs=None, bazel=True):
    """Download the archives the TF tree declares, verified, then what the targets need."""
    from tfbuild.downloads.prefetch import prefetch as run

    _call(run, profile, source=source, overrides=set or [], distdir=distdir,
          jobs=_int_flag("--jobs", jobs, 1) or 4, bazel=bazel)


ns.add_task(prefetch)


@task(
    help={"profile": PROFILE_HELP, "source": SOURCE_HELP, "set": SET_HELP,
          "gc": "prune the disk cache now, least recently used first, to "
                "build.disk_cache_max_gib (or --max-gib)",
          "max_gib": "size to prune the disk cache to, in GiB (with --gc or --dry-run)",
          "dry_run": "show what --gc would remove; remove nothing"},
    iterable=["set"],
)
def cache(c, profile=None, source=None, set=None, gc=False, max_gib=None, dry_run=False):
    """Sizes of the output bases, disk cache, repository cache, logs and dist/, with free space."""
    from tfbuild.space import cache as run

    _call(run, profile, source=source, overrides=set or [], gc=gc, max_gib=max_gib,
          dry_run=dry_run)


ns.add_task(cache)


@task(
    help={"profile": PROFILE_HELP, "source": SOURCE_HELP, "set": SET_HELP,
          "url": "download bazelisk from this URL instead of the pinned release (needs --sha256)",
          "sha256": "the sha256 the file at --url must have",
          "bazel_sha256": "sha256 of the Bazel release binary, for a version tfbuild does not pin",
          "force": "install bazelisk even when a Bazel is already found, and download the Bazel "
                   "release again"},
    iterable=["set"],
)
def bazel_install(c, profile=None, source=None, set=None, url=None, sha256=None,
                  bazel_sha256=None, force=False):
    """Install bazelisk (pinned) and the Bazel .bazelversion names into bazelisk's cache."""
    from tfbuild.downloads.bazelisk import bazel_install as run

    _call(run, profile, overrides=set or [], source=source, url=url, sha256=sha256,
          bazel_sha256=bazel_sha256, force=force)


ns.add_task(bazel_install, name="bazel-install")


@task(help={"profile": PROFILE_HELP, "set": SET_HELP,
            "dry_run": "render the Dockerfile and print the docker build command; run nothing"},
      iterable=["set"])
def docker_build(c, profile=None, set=None, dry_run=False):
    """Render the profile's pinned build environment (Dockerfile) and docker build it."""
    from tfbuild.container import docker_build as run

    _call(run, profile, overrides=set or [], dry_run=dry_run)


ns.add_task(docker_build, name="docker-build")


program = Program(namespace=ns, version=__version__, name="tfbuild", binary="tfbuild")


def main() -> None:
    """The `tfbuild` console script."""
    program.run()
