"""The one way tfbuild runs a program.

argv lists only (never a shell), the command echoed before it runs, and every run recorded with
the environment changes it ran with, so that a manifest or a bug report can show exactly what
happened. Secrets (auth headers, tokens) are masked in echoes and records.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tfbuild import console, secrets
from tfbuild.errors import CommandError, Interrupted, ToolMissingError
from tfbuild.secrets import MASK, SECRET_NAME  # noqa: F401 - re-exported for older callers

# A child ended by one of these was stopped by the user (Ctrl-C reaches the whole process group,
# a terminal closing sends SIGHUP): the command stops too, its result is never taken as a fact.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)


@dataclass(frozen=True)
class CommandRecord:
    """What ran: argv, where, with which environment changes, and how it ended."""

    argv: tuple[str, ...]
    cwd: str | None
    env: dict[str, str | None]
    inherit_env: bool
    returncode: int | None
    duration_s: float

    def as_dict(self) -> dict:
        return {
            "argv": list(self.argv),
            "cwd": self.cwd,
            "env": dict(self.env),
            "inherit_env": self.inherit_env,
            "returncode": self.returncode,
            "duration_s": round(self.duration_s, 3),
        }


@dataclass(frozen=True)
class Result:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    duration_s: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def quote(argv: Sequence[str]) -> str:
    return shlex.join([str(a) for a in argv])


def tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


@dataclass
class Runner:
    """Runs programs. `echo=False` keeps probes quiet (they are still recorded)."""

    echo: bool = True
    history: list[CommandRecord] = field(default_factory=list)

    # -- helpers -----------------------------------------------------------------------------
    @staticmethod
    def add_secret(*values: str) -> None:
        """Mask these values in everything tfbuild prints or writes from now on."""
        secrets.register(*values)

    @staticmethod
    def mask(text: str) -> str:
        return secrets.mask(text)

    def _masked_env(self, env: Mapping[str, str | None]) -> dict[str, str | None]:
        masked: dict[str, str | None] = {}
        for key, value in env.items():
            if value is not None and secrets.secret_name(key):
                masked[key] = MASK
            else:
                masked[key] = None if value is None else self.mask(value)
        return masked

    def _environment(self, env: Mapping[str, str | None] | None, inherit: bool) -> dict[str, str]:
        full = dict(os.environ) if inherit else {}
        for key, value in (env or {}).items():
            if value is None:
                full.pop(key, None)
            else:
                full[key] = value
        return full

    def _echo(self, argv: Sequence[str], cwd: str | Path | None, quiet: bool) -> None:
        if self.echo and not quiet:
            prefix = f"cd {shlex.quote(str(cwd))} && " if cwd else ""
            console.command(prefix + self.mask(quote(argv)))

    def _record(self, argv, cwd, env, inherit, returncode, duration) -> None:
        self.history.append(
            CommandRecord(
                argv=tuple(self.mask(str(a)) for a in argv),
                cwd=str(cwd) if cwd else None,
                env=self._masked_env(env or {}),
                inherit_env=inherit,
                returncode=returncode,
                duration_s=duration,
            )
        )

    def which(self, name: str, path: str | None = None) -> str | None:
        return shutil.which(name, path=path)

    # -- running -----------------------------------------------------------------------------
    def run(
        self,
        argv: Sequence[str | os.PathLike],
        *,
        cwd: str | Path | None = None,
        env: Mapping[str, str | None] | None = None,
        inherit_env: bool = True,
        check: bool = True,
        timeout: float | None = None,
        input: str | None = None,
        quiet: bool = False,
        hint: str = "",
    ) -> Result:
        """Run to completion and capture output. Raises CommandError when check and rc != 0."""
        argv = [str(a) for a in argv]
        self._echo(argv, cwd, quiet)
        start = time.monotonic()
        returncode: int | None = None
        try:
            proc = subprocess.run(
                argv,
                cwd=cwd,
                env=self._environment(env, inherit_env),
                input=input,
                capture_output=True,
                text=True,
                errors="replace",
                timeout=timeout,
                stdin=None if input is not None else subprocess.DEVNULL,
            )
            returncode = proc.returncode
        except FileNotFoundError as exc:
            raise ToolMissingError(
                f"cannot run {argv[0]!r}: not found", hint=hint or f"install {Path(argv[0]).name}"
            ) from exc
        except PermissionError as exc:
            raise ToolMissingError(f"cannot run {argv[0]!r}: not executable", hint=hint) from exc
        except subprocess.TimeoutExpired as exc:
            raise CommandError(
                f"command timed out after {timeout:g}s: {self.mask(quote(argv))}",
                argv=argv,
                output_tail=tail(_text(exc.stdout) + _text(exc.stderr)),
                hint=hint,
            ) from exc
        except KeyboardInterrupt as exc:
            raise Interrupted(f"interrupted: {self.mask(quote(argv))}") from exc
        finally:
            self._record(argv, cwd, env, inherit_env, returncode, time.monotonic() - start)
        stopped_by_user(proc.returncode, argv)
        result = Result(tuple(argv), proc.returncode, proc.stdout, proc.stderr,
                        time.monotonic() - start)
        if check and proc.returncode != 0:
            raise CommandError(
                f"command failed with exit code {proc.returncode}: {self.mask(quote(argv))}",
                argv=argv,
                returncode=proc.returncode,
                output_tail=self.mask(tail(result.output)),
                hint=hint,
            )
        return result

    def stream(
        self,
        argv: Sequence[str | os.PathLike],
        *,
        on_line: Callable[[str], None] | None = None,
        on_text: Callable[[str], None] | None = None,
        cwd: str | Path | None = None,
        env: Mapping[str, str | None] | None = None,
        inherit_env: bool = True,
        on_start: Callable[[subprocess.Popen], None] | None = None,
    ) -> int:
        """Run with stdout and stderr merged, calling on_line for every line, or on_text with
        runs of whole lines as they arrive (fewer calls for chatty programs). Returns the exit
        code. Ctrl-C is passed to the child and waited for."""
        argv = [str(a) for a in argv]
        self._echo(argv, cwd, False)
        start = time.monotonic()
        returncode: int | None = None
        try:
            proc = subprocess.Popen(
                argv,
                cwd=cwd,
                env=self._environment(env, inherit_env),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                bufsize=0,
            )
        except FileNotFoundError as exc:
            self._record(argv, cwd, env, inherit_env, None, 0.0)
            raise ToolMissingError(f"cannot run {argv[0]!r}: not found") from exc
        if on_start:
            on_start(proc)
        try:
            assert proc.stdout is not None
            for text in _whole_lines(proc.stdout.fileno()):
                if on_text is not None:
                    on_text(text)
                if on_line is not None:
                    for line in text.splitlines(True):
                        on_line(line)
            returncode = proc.wait()
        except KeyboardInterrupt:
            # A terminal's Ctrl-C reaches the child too (same process group); a SIGINT sent to
            # this process alone does not, so pass it on once. Then let the child stop cleanly.
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
            try:
                returncode = proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                proc.kill()
                returncode = proc.wait()
            raise
        finally:
            self._record(argv, cwd, env, inherit_env, returncode, time.monotonic() - start)
        return returncode


def stopped_by_user(returncode: int | None, argv: Sequence[str]) -> None:
    """Raise Interrupted when a child was ended by a stop signal: a probe killed by Ctrl-C must
    abort the command, not become "version unknown" and a different rc file."""
    if returncode is not None and returncode < 0 and -returncode in STOP_SIGNALS:
        name = signal.Signals(-returncode).name
        raise Interrupted(f"interrupted: {Path(str(argv[0])).name} was stopped by {name}",
                          hint="run the command again; nothing was written after the stop")


def _whole_lines(fd: int, size: int = 1 << 16):
    """Text from a pipe as it arrives, cut at line ends (the last piece may lack one)."""
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    pending = ""
    while True:
        chunk = os.read(fd, size)
        if not chunk:
            break
        pending += decoder.decode(chunk)
        cut = pending.rfind("\n") + 1
        if cut:
            yield pending[:cut]
            pending = pending[cut:]
    pending += decoder.decode(b"", final=True)
    if pending:
        yield pending


def _text(data) -> str:
    if data is None:
        return ""
    if isinstance(data, bytes):
        return data.decode(errors="replace")
    return data
