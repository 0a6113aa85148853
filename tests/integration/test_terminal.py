"""What a user sees (issue 25): `build` and `prefetch` on a pseudo-terminal of 80 and 140
columns, their bytes rendered by a VT100 emulator (pyte). One live region at the bottom; the
echoed command and Bazel's closing lines each scroll above it whole; the region's last state
(all actions done) shown once. With stdout a pipe: plain lines, no escape sequence, no bar."""

from __future__ import annotations

import os
import re

import pytest

from tests.helpers.cli import INVOKE, LOOPBACK_ONLY, ROOT
from tests.helpers.http_server import Server
from tests.helpers.profiles import local_bazel_profile
from tests.helpers.terminal import run_on_terminal
from tests.integration.test_downloads import declare, profile_for

SLOW = [f"//big:slow{i}" for i in range(6)]
# A bar: Rich's BarColumn characters, then a count (`7/7`, `343.0/343.0 kB`); a table's
# heavy border has the same character but no count.
BAR = re.compile(r"[━╸╺]+ +\d[\d.]*/\d")
COUNT = re.compile(r"(\d+)/(\d+)")


def _env(ws) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TFBUILD_")}
    env.update({k: v for k, v in LOOPBACK_ONLY.items() if v is not None})
    env.update(ws["env"])
    return env


def _slow_tree(ws) -> str:
    """Six genrules that take a moment each (the shape the issue watched), and TF's library."""
    (ws["source"] / "big").mkdir()
    (ws["source"] / "big" / "BUILD").write_text("".join(
        f'genrule(name = "slow{i}", outs = ["slow{i}.txt"], cmd = "sleep 2; echo {i} > $@")\n'
        for i in range(6)))
    targets = ", ".join(f'"{t}"' for t in ["//tensorflow:libtensorflow.so", *SLOW])
    return local_bazel_profile(ws["source"].parent / "tfs.toml", output_root=ws["root"],
                               dist=ws["source"].parent / "dist", extra=f"targets = [{targets}]\n")


def _bar_lines(lines: list[str]) -> list[str]:
    return [line for line in lines if BAR.search(line)]


@pytest.mark.parametrize("cols", [80, 140])
def test_build_on_a_terminal_scrolls_lines_above_one_bar(tf_workspace, cols):
    ws = tf_workspace
    profile = _slow_tree(ws)
    shown = run_on_terminal([INVOKE, "--search-root", str(ROOT), "build", "--profile", profile,
                             "--source", str(ws["source"])], cols=cols, env=_env(ws))
    assert shown.returncode == 0, shown.text()
    lines = shown.lines
    assert all(len(line) <= cols for line in lines)
    bars = _bar_lines(lines)
    assert len(bars) == 1, "\n".join(bars)  # exactly one bar on the final screen
    bar = bars[0]
    done, total = map(int, COUNT.search(bar).groups())
    assert done == total and total >= 7, bar  # the final count: every action done
    assert "INFO" not in bar and "+ cd" not in bar and "Executing" not in bar
    # the echoed command starts its own line, and so does each of Bazel's closing lines
    assert any(line.startswith("+ cd ") for line in lines), shown.text()
    for closing in ("INFO: Elapsed time:", "INFO: Build completed successfully",
                    "INFO: Build Event Protocol files produced successfully."):
        assert any(line.startswith(closing) for line in lines), (closing, shown.text())
    # the bar stands below Bazel's lines and above tfbuild's account of the build
    at = lines.index(bar)
    assert max(i for i, line in enumerate(lines) if line.startswith("INFO:")) < at
    assert any(line.startswith("==> Bazel's account") for line in lines[at + 1:])


def test_build_into_a_pipe_prints_plain_lines(tf_workspace):
    from tests.helpers.cli import invoke

    ws = tf_workspace
    profile = _slow_tree(ws)
    proc = invoke(["build", "--profile", profile, "--source", str(ws["source"])], env=ws["env"])
    assert proc.returncode == 0, proc.stderr
    output = proc.stdout + proc.stderr
    assert "\x1b" not in output and "━" not in output
    assert re.search(r"^\[\d+ / \d+\]", proc.stdout, re.M)  # plain progress lines instead


@pytest.mark.parametrize("cols", [80, 140])
def test_prefetch_on_a_terminal_shows_one_download_bar(tf_workspace, cols):
    ws = tf_workspace
    server = Server().start()
    try:
        data = declare(ws, server)
        server.rate["/c.tar.gz"] = len(data["c"]) // 3  # about 3 s: long enough to show a bar
        profile = profile_for(ws, server)
        shown = run_on_terminal([INVOKE, "--search-root", str(ROOT), "prefetch", "--profile",
                                 profile, "--source", str(ws["source"])], cols=cols,
                                env=_env(ws))
    finally:
        server.stop()
    assert shown.returncode == 0, shown.text()
    lines = shown.lines
    assert all(len(line) <= cols for line in lines)
    bars = _bar_lines(lines)
    assert len(bars) == 1, "\n".join(bars)
    assert "prefetch" in bars[0]
    assert any(line.startswith("+ cd ") for line in lines), shown.text()  # Bazel's fetch pass
