"""tfbuild's command line: thin Invoke tasks over the tfbuild library, shipped as the
`tfbuild` program (invoke.Program over this module's Collection, `[project.scripts]` in
pyproject.toml); the checkout's tasks.py re-exports the Collection, so `invoke doctor` there
runs the same tasks. The only module of the package that knows Invoke.

Each task parses flags and calls one library function; errors become a message and an exit code
(TFBUILD_DEBUG=1 shows the traceback).
"""

from __future__ import annotations

import atexit
import difflib
import errno
import importlib
import math
import os
import signal
import sys
from collections.abc import Callable

from invoke import Collection, Exit, ParseError, Program, task

from tfbuild import __version__, console
from tfbuild.errors import ConfigError, Interrupted, OutOfSpace, PreconditionError, TfbuildError

PROFILE_HELP = "profile name (profiles/NAME.toml) or path to a .toml file; default $TFBUILD_PROFILE or cpu"
SET_HELP = "override one setting, section.key=value (repeatable), e.g. --set build.jobs=8"
SOURCE_HELP = ("TensorFlow source tree (default: the current directory when it is one, else "
               "tensorflow.source_dir of the profile)")


# -- exits -----------------------------------------------------------------------------------------
EXIT_INTERRUPTED = Interrupted.exit_code
EXIT_BAD_FLAG = 2
_interrupted = {"yes": False}


def _on_sigint(signum, frame) -> None:
    """Ctrl-C: remembered, then Python's own KeyboardInterrupt. Whatever code the interrupted
    path then exits with (Invoke's 1, a probe's failure, a finished step's 0), the process
    exits 130 (atexit below): interrupted means interrupted."""
    _interrupted["yes"] = True
    raise KeyboardInterrupt


def _exit_if_interrupted() -> None:
    if _interrupted["yes"]:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(EXIT_INTERRUPTED)


if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
    signal.signal(signal.SIGINT, _on_sigint)
    atexit.register(_exit_if_interrupted)


def _quiet_broken_pipe(kind, value, tb) -> None:
    """A reader that went away (`tfbuild --help | head -1`, `invoke --list | head`): Invoke's
    own printing then raises BrokenPipeError out of the program. Stop quietly with 128 + SIGPIPE,
    as `cat` does; every other exception keeps Python's report."""
    if issubclass(kind, BrokenPipeError):
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except OSError:
            pass
        os._exit(128 + signal.SIGPIPE)
    sys.__excepthook__(kind, value, tb)


if sys.excepthook is sys.__excepthook__:
    sys.excepthook = _quiet_broken_pipe


def _flag_words(name: str, value: str) -> bool:
    word = value.strip().lower()
    if word in console.TRUE_WORDS:
        return True
    if word in console.FALSE_WORDS:
        return False
    raise ConfigError(f"{name}={console.clean(value)[:40]!r} is not a yes/no value",
                      hint=f"set {name} to 1 or 0 (also true/false, yes/no, on/off), or unset it")


def _debug() -> bool:
    try:
        return _flag_words("TFBUILD_DEBUG", os.environ.get("TFBUILD_DEBUG", "0"))
    except ConfigError:
        return False


def check_environment(env=os.environ) -> None:
    """tfbuild's own variables (not settings), before any task runs."""
    for name in ("TFBUILD_COLOR", "TFBUILD_DEBUG"):
        if name in env:
            _flag_words(name, env[name])
    state = env.get("TFBUILD_STATE_DIR")
    if state is not None:
        expanded = os.path.expanduser(state)
        if not state.strip() or not os.path.isabs(expanded):
            raise ConfigError(f"TFBUILD_STATE_DIR={console.clean(state)[:200]!r} is not an "
                              "absolute path: state would land wherever the command runs (the "
                              "TensorFlow tree)", hint="set TFBUILD_STATE_DIR to an absolute "
                              "path, e.g. ~/.local/state/tfbuild, or unset it")


def _call(target: str, *args, **kwargs) -> None:
    """Run `module:function` (imported here, so a Ctrl-C or an error while importing is handled
    like one while running), turning tfbuild's errors into one message and an exit code."""
    try:
        check_environment()
        module, _, name = target.partition(":")
        fn: Callable[..., int | None] = getattr(importlib.import_module(module), name)
        code = fn(*args, **kwargs)
    except TfbuildError as exc:
        if _debug():
            raise
        console.error(str(exc))
        raise Exit(code=exc.exit_code) from None
    except KeyboardInterrupt:
        _interrupted["yes"] = True
        console.error("interrupted")
        raise Exit(code=EXIT_INTERRUPTED) from None
    except (OSError, UnicodeDecodeError) as exc:  # a path check missed: still one line, no traceback
        if _debug():
            raise
        if isinstance(exc, UnicodeDecodeError):
            console.error(f"a file is not UTF-8 text: {exc}")
            raise Exit(code=ConfigError.exit_code) from None
        where = " -> ".join(str(f) for f in (exc.filename, exc.filename2) if f)
        if exc.errno == errno.ENOSPC:
            console.error(f"no space left on the device{' of ' + where if where else ''}\n"
                          "  fix: free space there, or move what tfbuild writes: the state "
                          "directory with TFBUILD_STATE_DIR, Bazel's output with "
                          "build.output_user_root, artifacts with build.dist_dir")
            raise Exit(code=OutOfSpace.exit_code) from None
        console.error(f"{where or 'a file'}: {exc.strerror or exc}")
        raise Exit(code=PreconditionError.exit_code) from None
    except RecursionError:
        if _debug():
            raise
        console.error("an input is nested too deeply to read (a profile's `extends` chain or a "
                      "JSON document)\n  fix: check the files given to this command")
        raise Exit(code=ConfigError.exit_code) from None
    if code:
        raise Exit(code=code)


def _refuse(message: str, hint: str) -> None:
    console.error(f"{message}\n  fix: {hint}")
    raise Exit(code=EXIT_BAD_FLAG)


def _int_flag(flag: str, value, minimum: int, maximum: int = 100_000) -> int | None:
    """An integer flag, refused (exit 2, like any bad setting) when not a number in range."""
    if value is None:
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = None
    if number is None or not minimum <= number <= maximum:
        _refuse(f"{flag} {console.clean(str(value))[:40]!r}: expected an integer from {minimum} "
                f"to {maximum}", f"pass {flag} N with {minimum} <= N <= {maximum}")
    return number


def _gib_flag(flag: str, value) -> float | None:
    """A positive, finite number of GiB (nan, inf and 1e309 are refused)."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number) or number <= 0 or number > 1024**2:
        _refuse(f"{flag} {console.clean(str(value))[:40]!r}: expected a positive number of GiB",
                f"e.g. {flag} 20")
    return number


def _profile_flag(value):
    """--profile '' would silently mean the default profile: refuse it."""
    if value is not None and not str(value).strip():
        _refuse("--profile is empty", "give a profile name (invoke profiles) or a path to a "
                ".toml file, or leave --profile out for $TFBUILD_PROFILE or cpu")
    return value


def _option_flags(flag: str, values) -> list[str]:
    """--bazel-opt values: each one non-empty option of printable text, no URL credentials."""
    from tfbuild.settings.validate import credentials_problem, short_repr, unsafe_text

    out = []
    for value in values or []:
        shown = short_repr(console.clean(value))
        if not value.strip():
            _refuse(f"{flag} {shown} is empty", f"remove the empty {flag}, or give an option "
                    "such as --bazel-opt=--verbose_failures")
        problem = unsafe_text(value) or (credentials_problem(value) or ("", ""))[0]
        if problem:
            fix = (credentials_problem(value) or ("", "remove it"))[1]
            _refuse(f"{flag} {shown} {problem}", fix)
        out.append(value)
    return out


def _remote_flag(flag: str, value):
    if value is None:
        return None
    from tfbuild.settings.validate import credentials_problem, short_repr

    prefixes = ("http://", "https://", "grpc://", "grpcs://", "unix:")
    shown = short_repr(console.clean(value))
    if not value.startswith(prefixes) or any(c.isspace() or ord(c) < 32 for c in value):
        _refuse(f"{flag} {shown} is not a Bazel remote URL", f"use one of {', '.join(prefixes)} "
                "with no spaces")
    problem = credentials_problem(value)
    if problem:
        _refuse(f"{flag} {problem[0]}", problem[1])
    return value


# -- a wrong flag: exit 2 with a suggestion, as a wrong setting gets -----------------------------
def _suggesting(parse: Callable) -> Callable:
    def parse_tasks(self) -> None:
        try:
            parse(self)
        except ParseError as exc:
            message = str(exc)
            context = getattr(exc, "context", None)
            wrong = message.split("'")[1] if message.count("'") >= 2 else ""
            if context is not None and wrong.startswith("-"):
                names = [n for n in getattr(context, "flags", {}) if n.startswith("--")]
                close = difflib.get_close_matches(wrong, names, n=1)
                if close:
                    message += f" Did you mean {close[0]}?"
            if context is not None and getattr(context, "name", None):
                message += f" (invoke --help {context.name} lists its flags)"
            raise Exit(message=f"error: {message}", code=EXIT_BAD_FLAG) from None
    parse_tasks.__wrapped__ = parse  # type: ignore[attr-defined]
    return parse_tasks


# Invoke exits 1 on a flag it does not know; tfbuild's documented code for a wrong flag is 2.
# Program.parse_tasks is where Invoke reads a task's flags, for the `tfbuild` program and for
# `invoke` in a checkout (tasks.py imports this module before Invoke parses the task's flags).
if not hasattr(Program.parse_tasks, "__wrapped__"):
    Program.parse_tasks = _suggesting(Program.parse_tasks)  # type: ignore[method-assign]


@task(
    help={"profile": PROFILE_HELP, "source": SOURCE_HELP, "set": SET_HELP,
          "json": "print one JSON document (keys: profile, checks, summary) instead of a table",
          "verbose": "echo every probe command",
          "offline": "skip the network checks (mirror, direct hosts, pip index, git remote)"},
    iterable=["set"],
)
def doctor(c, profile=None, source=None, set=None, json=False, verbose=False, offline=False):
    """Check this machine against a profile: found, missing, and how to fix it."""
    _call("tfbuild.doctor.task:doctor", _profile_flag(profile), source=source, overrides=set or [],
          json_output=json, verbose=verbose,
          offline=offline)


@task(help={"show": "print one profile resolved, with where each value came from",
            "set": SET_HELP},
      iterable=["set"])
def profiles(c, show=None, set=None):
    """List the profiles, or show one resolved (--show NAME)."""
    if show is not None:
        _call("tfbuild.settings.report:show_profile", _profile_flag(show), set or [])
    else:
        _call("tfbuild.settings.report:list_profiles")


ns = Collection(doctor, profiles)


@task(
    help={"profile": PROFILE_HELP, "source": SOURCE_HELP, "set": SET_HELP,
          "dry_run": "print the diff against the current file and the environment; write nothing",
          "force": "write even when blocking doctor checks fail"},
    iterable=["set"],
)
def configure(c, profile=None, source=None, set=None, dry_run=False, force=False):
    """Write <source>/.tf_configure.bazelrc from a validated profile; record the build env."""
    _call("tfbuild.configure.task:configure", _profile_flag(profile), source=source,
          overrides=set or [], dry_run=dry_run, force=force)


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
    if check and revert:
        _refuse("--check and --revert together: one reports, the other restores",
                "run `invoke patch --check` to see the state, then `invoke patch --revert`")
    _call("tfbuild.patching.task:patch", _profile_flag(profile), source=source, overrides=set or [],
          check_only=check, undo=revert)


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
          "distdir": "archives from this directory (filled by `invoke prefetch --distdir`, "
                     "perhaps on another machine); with --offline, checked against its "
                     "tfbuild-archives.json first",
          "in_docker": "run the same build inside the profile's image (invoke docker-build)"},
    iterable=["set", "bazel_opt"],
)
def build(c, profile=None, source=None, set=None, dry_run=False, jobs=None, bazel_opt=None,
          remote_cache=None, keep_going=False, offline=False, in_docker=False, distdir=None):
    """Build the wheel and libtensorflow into dist/<profile>/ (doctor, configure, patch, Bazel).

    Artifacts come with SHA256SUMS and manifest.json; the raw Bazel log is in the state dir.
    """
    _call("tfbuild.building.task:build", _profile_flag(profile), source=source, overrides=set or [],
          dry=dry_run, jobs=_int_flag("--jobs", jobs, 0) or None,
          bazel_opts=_option_flags("--bazel-opt", bazel_opt),
          remote_cache=_remote_flag("--remote-cache", remote_cache), keep_going=keep_going,
          offline=offline, in_docker=in_docker, distdir=distdir)


@task(help={"profile": PROFILE_HELP, "source": SOURCE_HELP, "set": SET_HELP}, iterable=["set"])
def source(c, profile=None, source=None, set=None):
    """Shallow-clone TensorFlow at the profile's git ref into the source directory."""
    _call("tfbuild.building.source:clone_command", _profile_flag(profile), source=source,
          overrides=set or [])


@task(help={"diff": "manifest A (a manifest.json or a dist/<profile> directory)",
            "other": "manifest B, given after A: invoke manifest --diff A B",
            "show_run": "also compare the run section (dates, durations, host)"},
      positional=["other"])
def manifest(c, diff, other, show_run=False):
    """Compare two builds' manifests: invoke manifest --diff A B."""
    _call("tfbuild.building.manifest:diff_command", diff, other, include_run=show_run)


@task(help={"dist": "the build: its dist/<profile> directory",
            "against": "another build (dist directory or execution log): add why this build's "
                       "actions missed against it",
            "output": "where to write the page (default: <dist>/report.html)"})
def report(c, dist, against=None, output=None):
    """A build's account as one self-contained HTML page: the timeline of its actions, the
    critical path, the slowest actions, cache hits; with --against, the miss causes."""
    _call("tfbuild.building.report:report", dist, against=against, output=output)


@task(help={"first": "build A: a dist/<profile> directory, or an execution log",
            "second": "build B: the same kinds",
            "limit": "causes shown (default 10)",
            "json": "print the comparison as JSON (every cause)"})
def explain(c, first, second, limit=None, json=False):
    """Why B's actions missed: compare two builds' execution logs, name each cause and the
    profile key or rc line behind it.

    Exit 0 when every action has the same key in both; 1 when some differ.
    """
    count = _int_flag("--limit", limit, 1)
    _call("tfbuild.building.explain:explain", first, second, limit=count or 10, as_json=json)


@task(help={"profile": PROFILE_HELP, "source": SOURCE_HELP, "set": SET_HELP,
            "against": "compare dist/<profile>/ with published SHA256SUMS (a file, or a dist "
                       "directory) instead of building a second time",
            "dry_run": "print both build commands; run nothing",
            "in_docker": "both builds inside the profile's image (invoke docker-build), the "
                         "second with its own cache volume"},
      iterable=["set"])
def verify_reproducible(c, profile=None, source=None, set=None, against=None, dry_run=False,
                        in_docker=False):
    """Build this commit a second time, sharing nothing, and compare every artifact byte for byte.

    Exit 0 when they are equal; 1 naming what differs (members of the wheel: time, mode, size,
    bytes), with a report beside the artifacts and the verdict in the manifest.
    """
    _call("tfbuild.building.reproducible:verify", _profile_flag(profile), source=source,
          overrides=set or [], against=against, dry_run=dry_run, in_docker=in_docker)


ns.add_task(build)
ns.add_task(source)
ns.add_task(manifest)
ns.add_task(explain)
ns.add_task(report)
ns.add_task(verify_reproducible, name="verify-reproducible")


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
    _call("tfbuild.smoke.task:smoke_test", _profile_flag(profile), source=source,
          overrides=set or [], wheel=wheel,
          libtensorflow=libtensorflow, cc=cc, input_op=input_op, output_op=output_op, keep=keep,
          json_output=json)


ns.add_task(smoke_test, name="smoke-test")


@task(
    help={"profile": PROFILE_HELP, "source": SOURCE_HELP, "set": SET_HELP,
          "python": "the interpreter to install into (default: the one configure recorded, "
                    "else toolchain.python)",
          "keep_nvidia": "install even when NVIDIA's pip packages (nvidia-*-cu12) are in that "
                         "Python; TensorFlow would load their CUDA/cuDNN before the profile's"},
    iterable=["set"],
)
def install(c, profile=None, source=None, set=None, python=None, keep_nvidia=False):
    """Install the built wheel (checked against SHA256SUMS) into your Python, via pip."""
    _call("tfbuild.install.task:install", _profile_flag(profile), python=python, source=source,
          overrides=set or [], keep_nvidia=keep_nvidia)


ns.add_task(install)


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
    _call("tfbuild.downloads.prefetch:prefetch", _profile_flag(profile), source=source,
          overrides=set or [], distdir=distdir,
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
    _call("tfbuild.space:cache", _profile_flag(profile), source=source, overrides=set or [],
          gc=gc, max_gib=_gib_flag("--max-gib", max_gib),
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
    _call("tfbuild.downloads.bazelisk:bazel_install", _profile_flag(profile),
          overrides=set or [], source=source, url=url, sha256=sha256,
          bazel_sha256=bazel_sha256, force=force)


ns.add_task(bazel_install, name="bazel-install")


@task(help={"profile": PROFILE_HELP, "set": SET_HELP,
            "dry_run": "render the Dockerfile and print the docker build command; run nothing"},
      iterable=["set"])
def docker_build(c, profile=None, set=None, dry_run=False):
    """Render the profile's pinned build environment (Dockerfile) and docker build it."""
    _call("tfbuild.container.task:docker_build", _profile_flag(profile), overrides=set or [],
          dry_run=dry_run)


ns.add_task(docker_build, name="docker-build")


program = Program(namespace=ns, version=__version__, name="tfbuild", binary="tfbuild")


def main() -> None:
    """The `tfbuild` console script."""
    program.run()
