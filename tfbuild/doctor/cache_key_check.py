"""doctor's `build.cache_keys` row: which values in the planned `.tf_configure.bazelrc` and Bazel
command are this user's or this machine's own, so that a teammate (or this user from another
checkout) would miss the cache. Pure: it renders the same plan configure and build would."""

from __future__ import annotations

from collections.abc import Iterable

from tfbuild import cachekeys
from tfbuild.building.command import BuildRequest, plan_command
from tfbuild.configure import rcfile
from tfbuild.configure.plan import plan
from tfbuild.doctor.rows import OK, SKIP, WARN, Check, Context
from tfbuild.environment import BuildEnvironment
from tfbuild.errors import Interrupted, TfbuildError
from tfbuild.paths import SYSTEM_PATH

ROW = "build.cache_keys"
EXPECTED = "no value in Bazel's action keys under a home, venv, temp, state or checkout directory"


def planned_inputs(ctx: Context) -> list[cachekeys.KeyInput]:
    """What configure would write and build would pass, as key inputs."""

    settings, facts = ctx.settings, ctx.facts
    rc = rcfile.render(plan(settings, facts, BuildEnvironment(()), profile="doctor",
                            shim=facts.cuda_shim))
    header = settings.remote.header_env
    cmd = plan_command(settings, BuildRequest(), bazel=facts.bazel.path or "bazel", jobs=1,
                       env={header: "X-Placeholder: value"} if header else {})
    return cachekeys.from_rc(rc) + cachekeys.from_options(cmd.options)


def check_cache_keys(ctx: Context) -> Iterable[Check]:
    places = ctx.facts.key_places
    if places is None:
        return
    try:
        inputs = planned_inputs(ctx)
    except Interrupted:  # a stopped probe stops the command; never a fact
        raise
    except TfbuildError as exc:
        yield Check(ROW, SKIP, f"not planned: {exc.message}", EXPECTED, exc.hint)
        return
    findings = cachekeys.machine_specific(inputs, places)
    actions = [f for f in findings if f.input.reach == cachekeys.ACTION]
    repos = [f for f in findings if f.input.reach == cachekeys.REPOSITORY]
    n_action = sum(1 for i in inputs if i.reach == cachekeys.ACTION)
    repo_note = ("; repository settings only (re-fetched per user, action keys unaffected unless "
                 "a repository writes them into a generated file): "
                 + "; ".join(f.text for f in repos)) if repos else ""
    shared = cachekeys.install_paths(inputs, SYSTEM_PATH)
    same_paths = ("; every machine sharing the cache needs these install paths identical: "
                  + ", ".join(shared)) if shared else ""
    if not actions:
        yield Check(ROW, OK, f"{n_action} values reach action keys, none user- or "
                    f"machine-specific{same_paths}{repo_note}", EXPECTED)
        return
    keys = sorted({f.key for f in actions})
    yield Check(ROW, WARN, f"{len(actions)} of {n_action} action-key values are user- or "
                "machine-specific: " + "; ".join(f.text for f in actions) + repo_note, EXPECTED,
                f"a teammate's build (or yours from another checkout or shell) misses the cache: "
                f"point {', '.join(keys)} at paths every machine shares (see docs/team.md, "
                "\"Sharing builds with a team\")")
