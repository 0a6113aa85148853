"""Output that goes to a pipe or a log is written without Rich (tfbuild.console loads Rich only
for a styled terminal, a live region or a table), and reads exactly as Rich wrote it before:
the same prefixes, markup-like text kept as it is, secrets masked."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = r"""
import sys
from tfbuild import console, secrets
secrets.register("s3cr3t-token")
console.step("configure [bold]x[/] s3cr3t-token")
console.note("a note with [brackets]")
console.success("built")
console.info("info: [dim]y[/]")
console.command("bazel build //a:b")
console.warn("careful")
console.error("broken")
console.raw_error_line("ERROR: a\tb")
print("RICH_LOADED" if "rich" in sys.modules else "RICH_NOT_LOADED", file=sys.stderr)
"""


def run(color: str) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "TFBUILD_COLOR": color, "HOME": "/nonexistent"}
    return subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          env=env, check=True)


def test_piped_output_is_plain_and_does_not_load_rich():
    proc = run("0")
    assert proc.stdout.splitlines() == [
        "==> configure [bold]x[/] ***", "a note with [brackets]", "ok built", "info: [dim]y[/]",
        "+ bazel build //a:b"]
    assert proc.stderr.splitlines() == ["warning: careful", "error: broken", "ERROR: a\tb",
                                        "RICH_NOT_LOADED"]


def test_forced_colour_goes_through_rich_with_the_same_words():
    proc = run("1")
    assert "\x1b[" in proc.stdout and "RICH_LOADED" in proc.stderr
    assert "s3cr3t-token" not in proc.stdout + proc.stderr
    plain = run("0")
    strip = __import__("re").compile(r"\x1b\[[0-9;]*m")
    assert strip.sub("", proc.stdout).splitlines() == plain.stdout.splitlines()
