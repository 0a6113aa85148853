"""`invoke source`: a shallow clone of TensorFlow at the profile's git ref."""

from __future__ import annotations

from pathlib import Path

from tfbuild import console, paths
from tfbuild.errors import CommandError, PreconditionError
from tfbuild.runner import Runner
from tfbuild.settings import resolve
from tfbuild.settings.model import Settings


def clone(settings: Settings, dest: Path, runner: Runner) -> Path:
    tf = settings.tensorflow
    if dest.exists() and any(dest.iterdir()):
        if (dest / "WORKSPACE").exists():
            console.info(f"source tree already at {dest}")
            return dest
        raise PreconditionError(f"{dest} exists and is not empty, but is not a TensorFlow tree",
                                hint="choose another --source directory or empty this one")
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        runner.run(["git", "clone", "--depth", "1", "--branch", tf.git_ref, tf.git_url, str(dest)],
                   timeout=3600)
    except CommandError as exc:
        raise PreconditionError(
            f"cannot clone {tf.git_url} at {tf.git_ref}: git exited with {exc.returncode}\n"
            f"{exc.output_tail}",
            hint=f"check the network or tensorflow.git_url / tensorflow.git_ref; offline, clone "
            f"or copy a TensorFlow {tf.version} tree yourself and pass --source DIR") from None
    return dest


def clone_command(profile_ref: str | None, *, source: str | None, overrides) -> int:

    profile = resolve(profile_ref, overrides=overrides)
    dest = paths.source_dir(profile.settings, source)
    clone(profile.settings, dest, Runner(echo=True))
    console.success(f"TensorFlow source at {dest}")
    return 0
