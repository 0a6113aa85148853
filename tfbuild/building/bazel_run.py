"""Running Bazel as a build shows it: the log written, progress and fetches shown live, errors
as they come. Used by the build (under its free-space guard) and by the step that runs Bazel
before it (the pip-mirror fix's fetch of rules_python)."""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path

from tfbuild import console
from tfbuild.building.command import BazelCommand
from tfbuild.building.fetchwatch import FetchState, FetchWatch
from tfbuild.building.progress import BuildSummary, LogPipeline, PlainProgress
from tfbuild.errors import Interrupted
from tfbuild.runner import Runner, quote


def run_bazel(cmd: BazelCommand, src: Path, env: dict, log_path: Path,
              runner: Runner, output_base: Path | None = None, on_start=None,
              title: str = "bazel build") -> LogPipeline:
    """Bazel with its output shown as the build shows it: live progress (phase, actions,
    what is being fetched and how much), errors as they come, everything in `log_path`."""
    console.step(f"{title} (log: {log_path})")
    with open(log_path, "w", encoding="utf-8", errors="replace") as log, \
            console.progress_bar("bazel") as bar:
        log.write(f"# tfbuild: {runner.mask(quote(cmd.argv(with_secrets=False)))}\n")
        plain = PlainProgress(console.note)
        shown_lock = threading.Lock()  # the log reader and the fetch watcher both report

        def on_progress(summary: BuildSummary) -> None:
            with shown_lock:
                if bar:
                    bar(summary.done, summary.total, summary.action
                        if summary.phase == "building" else summary.describe())
                else:
                    plain(summary)

        shown: set[str] = set()

        def on_notice(line: str) -> None:
            if line in shown:
                return
            shown.add(line)
            if line.startswith(("ERROR:", "FAILED:")):
                console.raw_error_line(line)
            elif line.startswith(("INFO: Build", "INFO: Elapsed", "INFO: ")) and (
                    "process" in line or "Build" in line or "Elapsed" in line):
                console.note(line)

        pipeline = LogPipeline(log, mask=runner.mask,
                               on_progress=on_progress,
                               on_notice=on_notice)

        def on_fetch(state: FetchState) -> None:
            summary = pipeline.summary
            summary.fetched, summary.fetching, summary.fetch_bytes = \
                state.fetched, state.fetching, state.size
            if summary.phase != "building":
                on_progress(summary)

        watch = FetchWatch(output_base, on_fetch) if output_base else contextlib.nullcontext()
        try:
            with watch:
                code = runner.stream(cmd.argv(), on_text=pipeline.feed_text, cwd=src, env=env,
                                     on_start=on_start)
        except KeyboardInterrupt:
            log.flush()
            raise Interrupted(f"build interrupted; Bazel was stopped cleanly (log: {log_path})",
                              hint="run `invoke build` again to continue where it stopped") from None
        summary = pipeline.summary
        if code != 0:
            summary.succeeded = False
        elif summary.succeeded is None:
            summary.succeeded = True
        if bar:  # the region's last state, shown once as it stops: all done, or where it failed
            done, total = summary.finished()
            with shown_lock:
                bar(done, total, "done" if summary.succeeded else "failed")
    return pipeline
