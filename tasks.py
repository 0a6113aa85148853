"""tfbuild's command line: thin Invoke tasks over the tfbuild library.

Each task parses flags and calls one library function; errors become a message and an exit code
(TFBUILD_DEBUG=1 shows the traceback).
"""

from __future__ import annotations

import os
from collections.abc import Callable

from invoke import Collection, Exit, task

from tfbuild import console
from tfbuild.errors import TfbuildError

PROFILE_HELP = "profile name (profiles/NAME.toml) or path to a .toml file; default $TFBUILD_PROFILE or cpu"
SET_HELP = "override one setting, section.key=value (repeatable), e.g. --set build.jobs=8"
SOURCE_HELP = "TensorFlow source tree (default: tensorflow.source_dir of the profile)"


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
    if code:
        raise Exit(code=code)


@task(
    help={"profile": PROFILE_HELP, "source": SOURCE_HELP, "set": SET_HELP,
          "json": "print one JSON document (keys: profile, checks, summary) instead of a table",
          "verbose": "echo every probe command"},
    iterable=["set"],
)
def doctor(c, profile=None, source=None, set=None, json=False, verbose=False):
    """Check this machine against a profile: what is there, what is missing, how to fix it."""
    from tfbuild.doctor import doctor as run

    _call(run, profile, source=source, overrides=set or [], json_output=json, verbose=verbose)


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
    """Render <source>/.tf_configure.bazelrc from a validated profile; record the build env."""
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
    """Apply the download-mirror, pip-mirror and local-CUDA fixes the profile asks for."""
    from tfbuild.patching.report import patch as run

    _call(run, profile, source=source, overrides=set or [], check_only=check, undo=revert)


ns.add_task(patch)
