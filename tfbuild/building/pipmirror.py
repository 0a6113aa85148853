"""The pip-mirror fix as a build step (mirrors.pip_method = "patch"): fetch rules_python with
the build's own options (the plan's `pip_fetch`), then patch its installer in the output base,
before the build, or prefetch's fetch step, runs pip for the first time.

On TF's tree that fetch resolves the WORKSPACE up to rules_python, which loads the hermetic
Python, the pip lock, NVIDIA's JSON and LLVM first: it is shown live as the build's own fetches
are (bazel_run), its log kept beside the build logs, and bounded by build.fetch_timeout_s."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

from tfbuild import console
from tfbuild.building.bazel_run import run_bazel
from tfbuild.building.diagnose import error_tail
from tfbuild.building.plan import BuildPlan
from tfbuild.downloads import resolved
from tfbuild.errors import BuildFailed, PatchError
from tfbuild.patching.fixes import APPLIED, apply
from tfbuild.runner import Runner


class _Deadline:
    """Sends Bazel SIGINT (a clean stop, as Ctrl-C) once `seconds` have passed."""

    def __init__(self, seconds: int) -> None:
        self.seconds = seconds
        self.tripped = False
        self._timer: threading.Timer | None = None

    def start(self, proc) -> None:
        if self.seconds > 0:
            self._timer = threading.Timer(self.seconds, self._stop, args=(proc,))
            self._timer.daemon = True
            self._timer.start()

    def _stop(self, proc) -> None:
        if proc.poll() is None:
            self.tripped = True
            proc.send_signal(signal.SIGINT)

    def cancel(self) -> None:
        if self._timer:
            self._timer.cancel()


def fetch_log(state: Path) -> Path:
    logs = state / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    return logs / f"fetch-{time.strftime('%Y%m%d-%H%M%S')}.log"  # rotated with the build's


def prepare(settings, plan: BuildPlan, env: dict, runner: Runner) -> None:
    if plan.pip_fetch is None:
        return
    log_path = fetch_log(plan.state)
    deadline = _Deadline(settings.build.fetch_timeout_s)
    try:
        with resolved.recording(plan.state, plan.output_base):
            pipeline = run_bazel(plan.pip_fetch, plan.source, env, log_path, runner,
                                 plan.output_base, on_start=deadline.start,
                                 title="fetch rules_python for the pip-mirror fix")
    finally:
        deadline.cancel()
    summary = pipeline.summary
    if deadline.tripped:
        still = f"; still fetching {summary.fetching}" if summary.fetching else ""
        raise BuildFailed(
            f"fetching rules_python did not finish within build.fetch_timeout_s = "
            f"{settings.build.fetch_timeout_s} s{still} (log: {log_path})",
            hint="raise build.fetch_timeout_s (0: no bound), or point the download mirror "
                 "settings (mirrors.tf_mirror, mirrors.host_mirrors) at a faster host")
    if not summary.succeeded:
        lines = log_path.read_text(errors="replace").splitlines()
        tail = "\n".join(error_tail(lines, 10))
        raise BuildFailed(f"could not fetch rules_python (log: {log_path})\n{tail}",
                          hint="check the download mirror settings (mirrors.tf_mirror)")
    statuses = apply(settings, plan.source, plan.output_base, only={"pip-mirror"})
    for status in statuses:
        if status.target.wanted and status.status != APPLIED:
            raise PatchError(f"pip-mirror fix not applied to {status.target.path}: "
                             f"{status.status} {status.detail}",
                             hint="use mirrors.pip_method = \"repo_env\" instead")
        console.note(f"    pip-mirror: {status.target.path} {status.status}")
