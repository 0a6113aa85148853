"""`invoke build`: doctor's blocking checks, configure, patch, Bazel, artifacts and manifest.

The plan is computed first (and printed by --dry-run); each step runs only as needed: configure
and patch rewrite nothing when nothing changed, and the Bazel command and its startup options are
the same from run to run, so a second build is a no-op for Bazel.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tfbuild import cachekeys, console, paths, sizing, space, wheel_audit
from tfbuild.building import account as account_mod
from tfbuild.building import artifacts as artifacts_mod
from tfbuild.building import bazel_rc_files, c_headers
from tfbuild.building import manifest as manifest_mod
from tfbuild.building import pipmirror
from tfbuild.building.account_files import RunFiles
from tfbuild.building.bazel_run import run_bazel
from tfbuild.building.command import (BazelCommand, BuildRequest,
                                      host_toolchain_paths)
from tfbuild.building.diagnose import (crash_lines, describe, diagnose, error_tail,
                                       missing_on_worker)
from tfbuild.building.lock import build_lock
from tfbuild.building.plan import make_plan
from tfbuild.building.progress import BuildSummary, LogPipeline
from tfbuild.building.source import clone
from tfbuild.configure.task import refuse_if_blocked, run_configure
from tfbuild.downloads import resolved, served
from tfbuild.downloads.offline import missing_for_offline
from tfbuild.errors import BuildFailed, PreconditionError
from tfbuild.files import sha256_file
from tfbuild.patching import fixes, records
from tfbuild.pathcheck import readable_dir, writable_dir
from tfbuild.runner import Runner, quote
from tfbuild.settings import ResolvedProfile, resolve
from tfbuild.wheel_check import audit_wheel


@dataclass(frozen=True)
class BuildResult:
    dist: Path | None
    manifest: Path | None
    log: Path | None
    summary: BuildSummary | None
    command: BazelCommand


def _patch_summary(settings, source: Path, output_base: Path) -> list[dict]:
    state = paths.state_dir(source)
    recs = records.load(state)
    out = []
    for status in fixes.check(settings, source, output_base):
        t = status.target
        if status.status != fixes.APPLIED:
            continue
        rec = recs.get(str(t.path))
        out.append({"fix": t.fix, "file": t.relative, "root": t.root_name,
                    "original_sha256": rec.original_sha256 if rec else None,
                    "patched_sha256": rec.patched_sha256 if rec else None})
    if settings.mirrors.pip_method == "repo_env" and settings.mirrors.pip_index:
        out.append({"fix": "pip-mirror", "file": paths.RC_NAME, "root": "source",
                    "method": "repo_env"})
    return out


def dry_run(profile: ResolvedProfile, *, source: str | Path | None, request: BuildRequest) -> int:
    settings = profile.settings
    src = paths.source_dir(settings, source)
    console.step(f"build plan for profile {profile.name} (dry run: nothing is run)")
    if not src.exists():
        console.info(f"1. source: clone {settings.tensorflow.git_url} at "
                     f"{settings.tensorflow.git_ref} into {src}")
        console.info("   (the remaining steps need the tree; run `invoke source` first to see them)")
        return 0
    check_output_paths(settings, src)  # a loop or a file where a directory goes: say so now
    cfg = run_configure(profile, source=src, dry_run=True)
    blocking = [r for r in cfg.checks if r.blocks]
    console.info(f"1. doctor: {len(blocking)} blocking failure(s)"
                 + (": " + ", ".join(r.id for r in blocking) if blocking else ""))
    console.info(f"2. configure: {cfg.rc_path} " + ("would be written" if cfg.changed else
                                                    "is up to date"))
    environments = cachekeys.action_environments(cachekeys.from_rc(cfg.content))
    for option, who in (("--action_env", "actions"),
                        ("--host_action_env", "tools built for the build (exec configuration)")):
        shown = ", ".join(f"{name}={value}" for name, value in environments[option].items())
        console.plain(f"   {who}: {shown or 'nothing from the rc'}")
    output_base = paths.output_base(settings, src)
    todo = [s for s in fixes.check(settings, src, output_base)
            if s.status in fixes.NEEDS_APPLY]
    console.info("3. patch: " + (", ".join(f"{s.target.fix} ({s.target.relative}: {s.status})"
                                           for s in todo) or "nothing to apply"))
    if request.offline:
        request = _offline(settings, src, request)
    plan = make_plan(profile, src, request, cfg, write=False)
    step = 4
    if plan.pip_fetch is not None:
        console.info(f"{step}. fetch rules_python, then apply the pip-mirror fix:")
        console.plain(f"   {quote(plan.pip_fetch.argv(with_secrets=False))}")
        step += 1
    console.info(f"{step}. bazel (copy-pasteable):")
    console.plain(plan.command.shell(src, plan.client_env))
    flags = ["--build_event_json_file", "--profile",
             *(["--execution_log_binary_file"] if settings.build.execution_log else [])]
    added = ", ".join(flags[:-1]) + " and " + flags[-1]
    console.note(f"   (invoke build adds {added}: the files of the build's account, beside the "
                 f"log in {paths.state_dir(src) / 'logs'})")
    console.info(f"{step + 1}. collect the wheel and libtensorflow into "
                 f"{paths.expand(settings.build.dist_dir) / profile.name}/ with SHA256SUMS and "
                 "manifest.json; audit the wheel (auditwheel show)")
    return 0


def check_output_paths(settings, src: Path) -> None:
    """Every directory the build writes is a directory it can write, before anything runs."""
    b = settings.build
    writable_dir(paths.output_user_root(settings), "build.output_user_root")
    if b.disk_cache:
        writable_dir(paths.expand(b.disk_cache), "build.disk_cache")
    writable_dir(paths.expand(b.dist_dir), "build.dist_dir")
    paths.checked_state_dir(src)


def run_build(profile: ResolvedProfile, *, source: str | Path | None = None,
              request: BuildRequest = BuildRequest(), runner: Runner | None = None) -> BuildResult:
    settings = profile.settings
    runner = runner or Runner(echo=True)
    _check_remote(settings, request)  # before anything is written
    src = paths.source_dir(settings, source)
    check_output_paths(settings, src)
    if not src.exists():
        console.step(f"no source tree at {src}: cloning")
        clone(settings, src, runner)
    state = paths.state_dir(src)
    started = time.monotonic()
    durations: dict[str, float] = {}
    with build_lock(state, src):
        t = time.monotonic()
        console.step("doctor + configure")
        cfg = run_configure(profile, source=src, step="build", not_blocking=set())  # refuse first
        refuse_if_blocked(cfg.checks, "build", set())
        console.note(f"    {cfg.rc_path} " + ("written" if cfg.changed else "unchanged"))
        durations["configure_s"] = time.monotonic() - t

        t = time.monotonic()
        output_base = paths.output_base(settings, src)
        console.step("patch")
        for status in fixes.apply(settings, src, output_base,
                                  only={"download-mirror", "cuda-lib64", fixes.SHIM_ID}):
            if status.status == fixes.APPLIED:
                console.note(f"    {status.target.fix}: {status.target.relative} applied")
        durations["patch_s"] = time.monotonic() - t

        if request.offline:
            request = _offline(settings, src, request)
        plan = make_plan(profile, src, request, cfg)
        cmd = plan.command
        for opt in cmd.secret_options:  # the header, and its value alone (as Bazel passes it on)
            value = opt.split("=", 1)[1]
            Runner.add_secret(value, value.partition("=")[2] or value.partition(":")[2].strip())
        env = plan.client_env
        if plan.pip_fetch is not None:
            t = time.monotonic()
            pipmirror.prepare(settings, plan, env, runner)
            durations["pip_mirror_s"] = time.monotonic() - t

        space.before_build(settings, src, state)
        log_path = _log_path(state)
        run_files = RunFiles.beside(log_path, execution_log=settings.build.execution_log)
        t = time.monotonic()
        kept_problems: list[str] = []
        try:
            with resolved.recording(state, output_base):
                pipeline = run_bazel_guarded(
                    settings, src, dataclasses.replace(cmd, run_options=run_files.bazel_options()),
                    env, log_path, runner, output_base)
        finally:
            kept_problems = run_files.keep_bep()
        for problem in kept_problems:
            console.note(f"    note: {problem}")
        summary = pipeline.summary
        durations["bazel_s"] = time.monotonic() - t
        account, bep = _account(run_files, summary, cmd)
        if not summary.succeeded:
            raise _failure(log_path, pipeline, output_base,
                           worker_hint=_worker_hint(settings, cfg.facts) if settings.remote.executor
                           else None)

        t = time.monotonic()
        dist = paths.expand(settings.build.dist_dir) / profile.name
        outputs = artifacts_mod.outputs_from_events(bep.target_outputs if bep else None,
                                                    tuple(settings.build.targets))
        console.note(f"    collecting the {len(outputs)} files the build events name "
                     f"(from {os.path.commonpath([str(p.parent) for p in outputs])})")
        headers = _c_api_headers(outputs, cfg.facts, runner)
        collected = artifacts_mod.collect(outputs, dist, extra={
            f"include/{name}": data for name, data in headers.items()})
        durations["collect_s"] = time.monotonic() - t
        t = time.monotonic()
        audit = _audit_wheel(dist, collected, runner)
        durations["wheel_audit_s"] = time.monotonic() - t
        durations["total_s"] = time.monotonic() - started
        manifest = manifest_mod.build_manifest(
            profile=profile, settings=settings, facts=cfg.facts,
            patches=_patch_summary(settings, src, output_base),
            rc_sha256=sha256_file(cfg.rc_path), argv=plan.argv(),
            key_inputs=cachekeys.from_rc(cfg.content) + cachekeys.from_options(cmd.options),
            environment=env, cwd=str(src), artifacts=[a.as_dict() for a in collected],
            system_rc=bazel_rc_files.system_rc_files(),
            heap=sizing.heap_plan(settings, cfg.facts.machine).as_dict(),
            run={"finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "host": platform.node(),
                 "log": str(log_path), "durations": {k: round(v, 2) for k, v in durations.items()},
                 "bazel_summary": {"processes": summary.processes,
                                   "process_kinds": summary.process_kinds},
                 "account": {**account.as_dict(), "files": _account_files(run_files)}},
        )
        if audit is not None:
            manifest["wheel"] = audit.as_dict()
        manifest["c_headers"] = sorted(f"include/{name}" for name in headers)
        manifest["downloads"] = _downloads(bep, state, output_base, settings)
        manifest_path = dist / manifest_mod.MANIFEST
        manifest_mod.write(manifest_path, manifest)
    console.success(f"built {len(collected)} artifacts into {dist} "
                    f"({account_mod.summary_line(account)})")
    console.note(f"    manifest: {manifest_path}\n    log: {log_path}")
    return BuildResult(dist, manifest_path, log_path, summary, cmd)


def _account_files(run_files: RunFiles) -> dict:
    """Where the build's account files are; the execution log with its sha256, which `explain`
    verifies before it reads the log back."""
    files: dict = {"build_events": str(run_files.bep), "profile": str(run_files.profile)}
    if run_files.profile.is_file():  # `invoke report` draws its timeline, verified first
        files["profile_sha256"] = sha256_file(run_files.profile)
    if run_files.execution_log and run_files.execution_log.is_file():
        files["execution_log"] = {"path": str(run_files.execution_log),
                                  "sha256": sha256_file(run_files.execution_log)}
    return files


def _account(run_files: RunFiles, summary: BuildSummary,
             cmd: BazelCommand) -> tuple[account_mod.Account, account_mod.BepFacts | None]:
    """Bazel's own account of the build, from its build events and profile, printed; with the
    build event facts (where the outputs are)."""
    bep, profile, problems = run_files.read()
    result = account_mod.make_account(bep, profile, summary.process_kinds or None,
                                      options=cmd.options)
    console.step(f"Bazel's account of this build (build events and profile beside the log: "
                 f"{run_files.bep.name}, {run_files.profile.name})")
    for line in account_mod.lines(result):
        console.plain(f"    {line}")
    for note in [*problems, *result.notes]:
        console.note(f"    note: {note}")
    return result, bep


def _downloads(bep, state: Path, output_base: Path, settings) -> list[dict]:
    """This build's downloads (build events) with the host that served each and the archive's
    sha256 (Bazel's record of what it fetched): downloads.served."""
    if bep is None or not bep.fetches:
        return []
    record = resolved.load(state, output_base)
    rows = served.downloads(bep.fetches, record.repositories if record else {}, settings)
    mirrored = sum(1 for r in rows if r["served_by"] == "mirror" and r["success"])
    console.note(f"    downloads: {sum(1 for r in rows if r['success'])} fetched, {mirrored} from "
                 "a mirror (manifest.json: downloads)")
    return rows


def _c_api_headers(outputs, facts, runner: Runner) -> dict[str, bytes]:
    """The C API headers the built wheel carries, for dist/<profile>/include/ (c_headers)."""
    wheel = next((p for p in outputs if p.suffix == ".whl"), None)
    if wheel is None:
        return {}
    cc = facts.clang.path or facts.gcc.path or "cc"
    headers, note = c_headers.c_api_headers(wheel, cc, runner)
    if headers:
        console.note(f"    C API headers: {len(headers)} into include/ (what {cc} -MM says "
                     "tensorflow/c/c_api.h needs)")
    else:
        console.warn(f"no C API headers for dist/: {note}")
    return headers


def _audit_wheel(dist: Path, collected, runner: Runner):
    """auditwheel's verdict on the collected wheel, printed: the manylinux policy it meets and
    the shared libraries it needs from outside. A missing or failing auditwheel is a warning."""

    wheel = next((a for a in collected if a.name.endswith(".whl")), None)
    if wheel is None:
        return None
    console.step(f"auditwheel show {wheel.name}")
    audit = audit_wheel(dist / wheel.name, runner, sha256=wheel.sha256)
    if not audit.ok:
        console.warn(f"wheel not audited: {audit.error}")
        return audit
    console.plain(f"    wheel: {wheel_audit.summary(audit)}")
    for line in wheel_audit.meaning(audit):
        console.plain(f"    {line}")
    return audit


def _check_remote(settings, request: BuildRequest) -> None:
    """The remote cache's options, files and reachability (build.remote); socket and ssl are
    imported only when a remote is configured, to keep a no-op build fast."""
    if request.remote_cache or (request.remote_cache is None and settings.remote.cache) \
            or settings.remote.executor:
        from tfbuild.building.remote import preflight

        preflight(settings, request, dict(os.environ))


def _offline(settings, src: Path, request: BuildRequest) -> BuildRequest:
    """Fail fast, naming what is missing, when the build would need the network."""
    store, missing, notes = missing_for_offline(settings, src, request.distdir)
    for note in notes:
        console.warn(f"--offline: {note}")
    if missing:
        names = "\n".join(f"  - {a.name}: {a.urls[0]} ({why}; listed by {a.origin})"
                          for a, why in missing[:20])
        more = f"\n  ... and {len(missing) - 20} more" if len(missing) > 20 else ""
        raise PreconditionError(
            f"--offline: {len(missing)} archive(s) the build needs are not prefetched:\n"
            f"{names}{more}", hint="run `invoke prefetch` where the network (or a mirror) is "
            "reachable, then build again")
    console.note(f"    offline: every archive the tree declares and Bazel fetched is in "
                 f"{store.distdir or store.repository_cache}")
    return dataclasses.replace(request, offline_options=tuple(store.bazel_options()))


def _log_path(state: Path) -> Path:
    logs = state / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    return logs / f"build-{time.strftime('%Y%m%d-%H%M%S')}.log"


def run_bazel_guarded(settings, src: Path, cmd: BazelCommand, env: dict, log_path: Path,
                      runner: Runner, output_base: Path | None) -> LogPipeline:
    """Bazel under the build's guard: the disk cache marked in use and free space on the
    output root watched from the moment Bazel starts (OutOfSpace when the watch stopped it)."""
    with space.guarded(settings, src) as guard:
        return run_bazel(cmd, src, env, log_path, runner, output_base, on_start=guard.start)


def _worker_hint(settings, facts):
    """For a program a remote worker lacks: the profile key that put it in the actions."""
    def hint(program: str) -> str:
        key = next((k for k, v in host_toolchain_paths(settings)
                    if program.startswith(v.rstrip("/") + "/")), None)
        clang = facts.clang.bazel_path or facts.clang.path
        if key is None and clang and os.path.dirname(program) == os.path.dirname(clang):
            key = "toolchain.clang_path" + ("" if settings.toolchain.clang_path else
                                            " (configure found that compiler for "
                                            f"toolchain.clang_major = {settings.toolchain.clang_major})")
        return (f"a remote worker cannot run {program}: the workers do not have that path\n"
                f"  fix: give every worker {program} (their image: remote.exec_properties), set "
                f"remote.local_fallback = true to run such actions here"
                + (f", or change {key}" if key else ""))
    return hint


def _failure(log_path: Path, pipeline: LogPipeline, output_base: Path | None = None,
             worker_hint=None) -> BuildFailed:
    # no ERROR line: Bazel's server crashed and left the reason in java.log only
    crash = crash_lines(output_base) if output_base and not pipeline.summary.error_lines else []
    found = diagnose([*pipeline.diagnosis_lines(), *crash])
    lines = []
    program = missing_on_worker(pipeline.diagnosis_lines()) if worker_hint else None
    if program:
        lines.append(worker_hint(program))
    lines += describe(found)
    tail = "\n".join(line.rstrip("\n") for line in error_tail(list(pipeline.tail)))
    causes = [line for line in crash if line.startswith("Caused by:")]
    if causes:
        tail += (f"\n--- Bazel's server crashed ({output_base}/java.log) ---\n"
                 + "\n".join(causes[-3:]))
    message = "Bazel build failed"
    if lines:
        message += "\n" + "\n".join(lines)
    else:
        message += "\nno known error signature matched; see the raw error below"
    message += f"\n--- raw error (full log: {log_path}) ---\n{tail}"
    return BuildFailed(message, hint=f"full log: {log_path}")


def build(profile_ref: str | None = None, *, source: str | None = None,
          overrides: Sequence[str] = (), dry: bool = False, jobs: int | None = None,
          bazel_opts: Sequence[str] = (), remote_cache: str | None = None,
          keep_going: bool = False, offline: bool = False, in_docker: bool = False,
          distdir: str | None = None) -> int:
    profile = resolve(profile_ref, overrides=overrides)
    carried = None
    if distdir and not in_docker:
        carried = Path(os.path.realpath(readable_dir(paths.expand(distdir), "--distdir")))
    request = BuildRequest(jobs=jobs, bazel_opts=tuple(bazel_opts), remote_cache=remote_cache,
                           keep_going=keep_going, offline=offline,
                           distdir=Path(distdir) if in_docker and distdir else carried)
    if in_docker:
        from tfbuild.container.task import build_in_docker

        return build_in_docker(profile, source=source, dry_run=dry, request=request,
                               overrides=overrides)
    if dry:
        return dry_run(profile, source=source, request=request)
    run_build(profile, source=source, request=request)
    return 0
