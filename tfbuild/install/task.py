"""`invoke install`: put the wheel `invoke build` made into the user's own interpreter — the
step the notes end with (`pip install -i <mirror> …/tensorflow-2.18.1-cp310-…whl`).

The wheel is checked against SHA256SUMS first; pip installs it through the profile's index,
without the `and-cuda` extra (the profile's CUDA and cuDNN are the machine's own). For a CUDA
profile, NVIDIA's pip packages in that interpreter (left by `pip install tensorflow[and-cuda]`)
would be loaded by TensorFlow instead: install refuses while they are there unless told to keep
them, and prints the exact `pip uninstall` line.
"""

from __future__ import annotations

import os
from pathlib import Path

from tfbuild import console, environment, paths, sums
from tfbuild.discovery.programs import which
from tfbuild.discovery.toolchain import (PYTHON_PROBE, nvidia_packages,
                                         uninstall_line)
from tfbuild.errors import (CommandError, ConfigError, PreconditionError,
                            TfbuildError)
from tfbuild.runner import Runner
from tfbuild.settings import ResolvedProfile, resolve


def built_wheel(profile: ResolvedProfile) -> Path:
    """The one wheel in dist/<profile>/, verified against SHA256SUMS."""
    dist = paths.expand(profile.settings.build.dist_dir) / profile.name
    wheels = sorted(dist.glob("*.whl")) if dist.is_dir() else []
    if len(wheels) != 1:
        raise PreconditionError(
            f"{'no' if not wheels else 'more than one'} wheel in {dist}",
            hint=f"run `invoke build --profile {profile.name}` first (it puts the wheel there)"
            if not wheels else "remove the extra wheels, or rebuild with `invoke build`")
    sums.verify(dist, [wheels[0].name])  # a changed or replaced wheel is refused here
    return wheels[0]


def target_python(profile: ResolvedProfile, python: str | None, source: str | None) -> str:
    """--python (a path, or a name looked up on PATH like `python3.10`), else the interpreter
    configure recorded, else toolchain.python."""
    if python:
        if "/" not in python and (found := which(python, os.environ)):
            return found
        return str(paths.expand(python))
    try:
        state = paths.state_dir(paths.source_dir(profile.settings, source))
        recorded = environment.load(state).get("PYTHON_BIN_PATH")
    except TfbuildError:
        recorded = ""
    found = recorded or profile.settings.toolchain.python
    if not found:
        raise ConfigError("no Python to install into: configure has recorded none and the "
                          "profile has no toolchain.python",
                          hint="pass --python PATH (e.g. --python /usr/bin/python3.10), or run "
                          "`invoke configure` first")
    return found


def check_interpreter(python: str, runner: Runner) -> None:
    if not (os.path.isfile(python) and os.access(python, os.X_OK)):
        raise ConfigError(f"--python {python}: not an executable file",
                          hint="pass the path of a Python interpreter, e.g. /usr/bin/python3.10")
    result = runner.run([python, "-c", PYTHON_PROBE], check=False, quiet=True, timeout=60)
    if not result.ok or '"version"' not in result.stdout:
        raise ConfigError(f"--python {python}: not a Python interpreter (it did not run a "
                          "Python one-liner)", hint="pass the path of a Python interpreter")


def install(profile_ref: str | None = None, *, python: str | None = None,
            source: str | None = None, overrides=(), keep_nvidia: bool = False) -> int:
    profile = resolve(profile_ref, overrides=overrides)
    settings = profile.settings
    runner = Runner(echo=True)
    wheel = built_wheel(profile)
    interpreter = target_python(profile, python, source)
    check_interpreter(interpreter, runner)
    nvidia = nvidia_packages(runner, interpreter) or ()
    if nvidia and settings.cuda.enabled:
        listed = ", ".join(f"{name} {version}" for name, version in nvidia)
        message = (f"{interpreter} holds NVIDIA's pip packages ({listed}); TensorFlow would load "
                   f"their CUDA/cuDNN instead of the profile's CUDA {settings.cuda.version} / "
                   f"cuDNN {settings.cuda.cudnn_version}")
        if not keep_nvidia:
            raise PreconditionError(message, hint=f"remove them: {uninstall_line(interpreter, nvidia)}"
                                    " (or pass --keep-nvidia to install anyway)")
        console.warn(message + " (kept: --keep-nvidia)")
    console.step(f"install {wheel.name} into {interpreter}")
    pip = [interpreter, "-m", "pip", "install", "--disable-pip-version-check"]
    if settings.mirrors.pip_index:
        pip += ["-i", settings.mirrors.pip_index]
    argv = [*pip, str(wheel)]
    code = runner.stream(argv, on_line=lambda line: console.plain(line.rstrip("\n")))
    if code != 0:
        raise CommandError(f"pip could not install {wheel.name} into {interpreter} (exit {code})",
                           argv=argv, returncode=code,
                           hint="read pip's output above: a dependency missing from the index "
                           "(mirrors.pip_index), or a wheel for another Python (its cpXY tag)")
    shown = runner.run([interpreter, "-m", "pip", "show", "tensorflow"], check=False, quiet=True)
    version = next((line.split(":", 1)[1].strip() for line in shown.stdout.splitlines()
                    if line.startswith("Version:")), "?")
    console.success(f"tensorflow {version} installed into {interpreter} from {wheel}")
    return 0
