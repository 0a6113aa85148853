"""One error hierarchy for tfbuild.

Every error carries what went wrong (the message) and what to change (the hint). Only the
entry point (tasks.py) turns an error into an exit: `exit_code` says which kind it was.
"""

from __future__ import annotations

from collections.abc import Sequence


# Exit codes that are not an error's: success, and "a check failed / something differs / is to
# do" (doctor, patch --check, manifest --diff, prefetch). Each error's own code is its class's
# `exit_code` below.
EXIT_OK = 0
EXIT_NOT_ALL_OK = 1


class TfbuildError(Exception):
    """Base class: a failure the user can act on."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  fix: {self.hint}"
        return self.message


class ConfigError(TfbuildError):
    """A profile, a setting, a flag or an environment variable is wrong."""

    exit_code = 2


class ToolMissingError(TfbuildError):
    """A program or file that tfbuild needs is not on this machine."""

    exit_code = 3


class PreconditionError(TfbuildError):
    """The machine or the source tree is not ready for the step (doctor checks failed)."""

    exit_code = 3


class CommandError(TfbuildError):
    """A subprocess failed. Carries the command, its exit code and the tail of its output."""

    exit_code = 4

    def __init__(
        self,
        message: str,
        *,
        argv: Sequence[str] = (),
        returncode: int | None = None,
        output_tail: str = "",
        hint: str = "",
    ) -> None:
        super().__init__(message, hint=hint)
        self.argv = list(argv)
        self.returncode = returncode
        self.output_tail = output_tail

    def __str__(self) -> str:
        text = self.message
        if self.output_tail:
            text += "\n--- last lines of output ---\n" + self.output_tail.rstrip()
        if self.hint:
            text += f"\n  fix: {self.hint}"
        return text


class PatchError(TfbuildError):
    """A patch cannot be applied or reverted safely (drifted anchor, user edits)."""

    exit_code = 5


class BuildFailed(TfbuildError):
    """Bazel failed; the message holds the diagnosis."""

    exit_code = 6


class SmokeTestFailed(TfbuildError):
    """A smoke-test step failed."""

    exit_code = 7


class OutOfSpace(TfbuildError):
    """A filesystem the build writes to ran low; the build was stopped before it filled."""

    exit_code = 8


class Interrupted(TfbuildError):
    """The user pressed Ctrl-C."""

    exit_code = 130
