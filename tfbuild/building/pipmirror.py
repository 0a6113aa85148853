"""The pip-mirror fix as a build step (mirrors.pip_method = "patch"): fetch rules_python with
the build's own options (the plan's `pip_fetch`), then patch its installer in the output base,
before the build, or prefetch's fetch step, runs pip for the first time."""

from __future__ import annotations

from tfbuild import console
from tfbuild.building.plan import BuildPlan
from tfbuild.downloads import resolved
from tfbuild.errors import BuildFailed, CommandError, PatchError
from tfbuild.patching.fixes import APPLIED, apply
from tfbuild.runner import Runner


def prepare(settings, plan: BuildPlan, env: dict, runner: Runner) -> None:
    if plan.pip_fetch is None:
        return
    console.step("fetch rules_python for the pip-mirror fix")
    try:
        with resolved.recording(plan.state, plan.output_base):
            runner.run(plan.pip_fetch.argv(), cwd=plan.source, env=env, timeout=3600)
    except CommandError as exc:
        raise BuildFailed(f"could not fetch rules_python: {exc.message}\n{exc.output_tail}",
                          hint="check the download mirror settings (mirrors.tf_mirror)") from None
    statuses = apply(settings, plan.source, plan.output_base, only={"pip-mirror"})
    for status in statuses:
        if status.target.wanted and status.status != APPLIED:
            raise PatchError(f"pip-mirror fix not applied to {status.target.path}: "
                             f"{status.status} {status.detail}",
                             hint="use mirrors.pip_method = \"repo_env\" instead")
        console.note(f"    pip-mirror: {status.target.path} {status.status}")
