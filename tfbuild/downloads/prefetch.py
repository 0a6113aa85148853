"""`invoke prefetch`: every archive the TF tree declares (and, for a CUDA profile, the NVIDIA
redistributions the hermetic rules will fetch), downloaded through the patched URL order,
verified, stored where Bazel looks without the network. Parallel, resumable, one progress bar,
a summary.

Then Bazel fetches what the build's targets need, with the build's own command and options plus
`--nobuild` (loading and analysis fetch every repository the targets reach; this is what
`bazel fetch` became in Bazel 7.2, bazelbuild/bazel#21841 — in Bazel 4.2.3 and 6.5 `bazel fetch`
is query-based and reads no `build:` configs, bazelbuild/bazel#8565). That fetches what the tree
scan cannot see (rules_python's own archives, the python-build-standalone interpreter, the pip
wheels of the requirements lock, into the output base) and tells which declared archives the
targets do not need: those that failed to download are reported, not counted as failures."""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import requests

from tfbuild import console, paths, versions
from tfbuild.downloads import archives as archives_mod
from tfbuild.downloads import store as store_mod
from tfbuild.downloads.archives import Archive
from tfbuild.downloads.fetch import FetchError, fetch
from tfbuild.downloads.urls import candidates
from tfbuild.errors import PreconditionError, TfbuildError
from tfbuild.files import sha256_file
from tfbuild.patching import DEFAULT_MIRROR
from tfbuild.settings import ResolvedProfile, resolve
from tfbuild.runner import Runner, tail
from tfbuild.settings.model import Settings

FETCHED, PRESENT, FAILED = "fetched", "already there", "failed"
BY_BAZEL, NOT_NEEDED = "fetched by Bazel", "not needed"


@dataclass(frozen=True)
class Outcome:
    archive: Archive
    status: str
    size: int = 0
    detail: str = ""


_local = threading.local()


def _session() -> requests.Session:
    if not hasattr(_local, "session"):
        _local.session = requests.Session()
    return _local.session


def _urls(archive: Archive, settings: Settings) -> list[str]:
    m = settings.mirrors
    return candidates(archive.urls, m.tf_mirror or DEFAULT_MIRROR, m.direct_hosts)


def _one(archive: Archive, store: store_mod.Store, settings: Settings,
         bar: console.DownloadBar) -> Outcome:
    target = store.path_for(archive)
    if target.is_file():
        if sha256_file(target) == archive.sha256:
            return Outcome(archive, PRESENT, target.stat().st_size)
        target.unlink()
    try:
        got = fetch(_urls(archive, settings), target, archive.sha256, session=_session(),
                    on_bytes=bar.advance, on_total=bar.add_total)
    except FetchError as exc:
        return Outcome(archive, FAILED, 0, str(exc))
    detail = got.url + (f" (resumed at {got.resumed_from} bytes)" if got.resumed_from else "")
    return Outcome(archive, FETCHED, got.bytes, detail)


def fetch_all(items: Sequence[Archive], store: store_mod.Store, settings: Settings, *,
              jobs: int, bar: console.DownloadBar) -> list[Outcome]:
    clashing: dict[int, str] = {}
    if store.distdir:
        for name, archives in store_mod.collisions(list(items)).items():
            for archive in archives:
                clashing[id(archive)] = (f"its file name {name} is taken by another archive in "
                                         "the --distdir; prefetch into the repository cache "
                                         "(no --distdir) instead")

    def one(archive: Archive) -> Outcome:
        if id(archive) in clashing:
            return Outcome(archive, FAILED, 0, clashing[id(archive)])
        return _one(archive, store, settings, bar)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        outcomes = list(pool.map(one, items))
    for outcome in outcomes:
        if outcome.status == FAILED:
            console.warn(f"{outcome.archive.name}: {outcome.detail}")
    return outcomes


def _cuda_flags(settings: Settings) -> dict:
    cuda = settings.cuda
    return dict(cuda_version=cuda.version, cudnn_version=cuda.cudnn_version,
                local_cuda=bool(cuda.local_cuda_path), local_cudnn=bool(cuda.local_cudnn_path),
                local_nccl=bool(cuda.local_nccl_path))


def cuda_components(settings: Settings, source: Path, store: store_mod.Store
                    ) -> tuple[list[Archive], list[Archive], list[str]]:
    """(redistrib JSON files, the component archives known from JSON files in the store, notes)."""
    if not settings.cuda.enabled:
        return [], [], []
    index = archives_mod.redist_index(source, **_cuda_flags(settings))
    if index is None:
        return [], [], [f"no {archives_mod.REDIST_FILE}: NVIDIA redistributions not listed"]
    jsons = [a for a, _, _ in index.json_archives]
    parts = [index.nccl] if index.nccl else []
    major = (versions.version(settings.cuda.version) or versions.version("12")).major
    for archive, prefix, kind in index.json_archives:
        if store.has(archive):
            parts += archives_mod.redist_components(
                store.path_for(archive).read_text(), prefix, kind, index.components, str(major),
                f"{archive.name} ({archive.urls[0]})")
    return jsons, parts, []


def tfbuild_outputs(settings: Settings, distdir: Path | None = None) -> list[Path]:
    """Directories tfbuild and Bazel write that may lie inside the tree (the notes keep their
    output root there): never scanned for declared archives."""
    b = settings.build
    dirs = [paths.output_user_root(settings), paths.expand(b.dist_dir)]
    if b.disk_cache:
        dirs.append(paths.expand(b.disk_cache))
    if distdir:
        dirs.append(distdir)
    return dirs


def plan(settings: Settings, source: Path, distdir: Path | None = None
         ) -> tuple[list[Archive], list[str]]:
    if not source.is_dir():
        raise PreconditionError(f"source directory {source} does not exist",
                                hint="run `invoke source`, or pass --source DIR")
    declared = archives_mod.declared_archives(source, tfbuild_outputs(settings, distdir))
    return declared.archives, declared.skipped


# -- what the build's targets need ----------------------------------------------------------------
@dataclass(frozen=True)
class TargetsFetch:
    ok: bool | None  # None: Bazel could not be asked (no Bazel, blocking doctor check)
    targets: tuple[str, ...]
    detail: str = ""
    seconds: float = 0.0


def classify(outcomes: Sequence[Outcome], targets: TargetsFetch,
             present: Callable[[Archive], bool]) -> list[Outcome]:
    """After Bazel fetched the targets: a declared archive tfbuild could not download is either
    in the store now (Bazel fetched it itself) or not needed by the targets. Pure."""
    if not targets.ok:
        return list(outcomes)
    out = []
    for o in outcomes:
        if o.status == FAILED:
            if present(o.archive):
                o = dataclasses.replace(o, status=BY_BAZEL)
            else:
                o = dataclasses.replace(o, status=NOT_NEEDED,
                                        detail=f"the targets do not need it; {o.detail}")
        out.append(o)
    return out


def fetch_targets(profile: ResolvedProfile, src: Path, store: store_mod.Store,
                  runner: Runner) -> TargetsFetch:
    """`bazel build --nobuild` of the build's targets with the build's startup options, rc files,
    configs and repo_env (configure and the download-mirror patch first, as `invoke build`
    does), plus the store's --distdir."""
    from tfbuild import patching
    from tfbuild.building import (_jobs, _pip_patch_wanted, _prepare_pip_mirror, _tls_provider,
                                  client_environment)
    from tfbuild.building.command import BuildRequest, plan_command
    from tfbuild.building.lock import build_lock
    from tfbuild.configure import blocking_failures, run_configure

    settings = profile.settings
    targets = tuple(settings.build.targets)
    try:
        cfg = run_configure(profile, source=src)
        blocked = blocking_failures(cfg.checks, set())
        if blocked or not cfg.facts.bazel.path:
            why = "; ".join(f"{r.id}: {r.found}" for r in blocked) or "no Bazel found"
            return TargetsFetch(None, targets, f"Bazel was not asked ({why})")
        from tfbuild.downloads import downloader_config

        request = BuildRequest(offline_options=tuple(store.bazel_options()),
                               download_options=downloader_config.options(settings, src))
        request = _tls_provider(settings, request, cfg)  # the build's startup options: its server
        build_cmd = plan_command(settings, request, bazel=cfg.facts.bazel.path,
                                 jobs=_jobs(profile, request, cfg), env=dict(os.environ),
                                 machine=cfg.facts.machine)
        cmd = dataclasses.replace(build_cmd, options=(*build_cmd.options, "--nobuild"))
        env = client_environment(settings, cfg)
        state = paths.state_dir(src)
        with build_lock(state, src):
            output_base = paths.output_base(settings, src)
            patching.apply(settings, src, output_base,
                           only={"download-mirror", "cuda-lib64", patching.SHIM_ID})
            if _pip_patch_wanted(profile):  # as the build: pip's index fixed before pip runs
                _prepare_pip_mirror(profile, build_cmd, src, output_base, env, runner)
            console.step(f"prefetch: Bazel fetches what {len(targets)} target(s) need "
                         "(build --nobuild)")
            lines: list[str] = []
            start = time.monotonic()
            shown = [0.0]

            def on_line(line: str) -> None:
                lines.append(line.rstrip("\n"))
                del lines[:-200]
                now = time.monotonic()
                if line.startswith(("ERROR", "WARNING: Download")) or now - shown[0] > 5:
                    shown[0] = now
                    console.note(f"    {line.rstrip()[:160]}")

            code = runner.stream(cmd.argv(), on_line=on_line, cwd=src, env=env)
    except TfbuildError as exc:
        return TargetsFetch(None, targets, f"Bazel was not asked ({exc.message})")
    seconds = time.monotonic() - start
    if code != 0:
        return TargetsFetch(False, targets, f"bazel build --nobuild failed (exit {code}):\n"
                            + tail("\n".join(lines), 15), seconds)
    return TargetsFetch(True, targets, "", seconds)


def writable_dir_state(src: Path) -> None:
    from tfbuild.pathcheck import writable_dir

    writable_dir(paths.state_dir(src), paths.STATE_WHAT)


def run_prefetch(profile: ResolvedProfile, *, source: str | None = None,
                 distdir: str | None = None, jobs: int = 4, bazel: bool = True,
                 runner: Runner | None = None) -> tuple[list[Outcome], TargetsFetch]:
    settings = profile.settings
    src = paths.source_dir(settings, source)
    if distdir:
        from tfbuild.pathcheck import writable_dir

        writable_dir(paths.expand(distdir), "--distdir")
    writable_dir_state(src)
    store = store_mod.Store(paths.expand(distdir) if distdir else None,
                            store_mod.repository_cache(paths.output_user_root(settings)))
    items, skipped = plan(settings, src, store.distdir)
    where = f"--distdir {store.distdir}" if store.distdir else f"the repository cache {store.repository_cache}"
    console.step(f"prefetch: {len(items)} archives declared in {src}, into {where}")
    bar = console.DownloadBar("prefetch")
    try:
        jsons, _, notes = cuda_components(settings, src, store)
        outcomes = fetch_all([*items, *jsons], store, settings, jobs=jobs, bar=bar)
        _, parts, _ = cuda_components(settings, src, store)
        outcomes += fetch_all(parts, store, settings, jobs=jobs, bar=bar)
    finally:
        bar.close()
    state = paths.state_dir(src)
    store_mod.save(state, store)
    targets = fetch_targets(profile, src, store, runner or Runner(echo=True)) if bazel \
        else TargetsFetch(None, tuple(settings.build.targets), "Bazel was not asked (--no-bazel)")
    outcomes = classify(outcomes, targets, store.has)
    store_mod.save(state, store, targets={
        "targets": list(targets.targets), "ok": targets.ok,
        "not_needed": sorted(o.archive.sha256 for o in outcomes if o.status == NOT_NEEDED)})
    _summary(outcomes, skipped + notes)
    _targets_summary(targets)
    return outcomes, targets


def _targets_summary(targets: TargetsFetch) -> None:
    if targets.ok:
        console.success(f"Bazel fetched what {', '.join(targets.targets)} need "
                        f"({targets.seconds:.0f} s): rules' own archives and interpreters into "
                        "the repository cache, pip wheels and repositories into the output base")
    elif targets.ok is None:
        console.warn(f"{targets.detail}: every declared archive counts as needed")
    else:
        console.error(targets.detail)


def _summary(outcomes: Sequence[Outcome], skipped: Sequence[str]) -> None:
    rows = [[o.archive.name, o.status, f"{o.size / 1e6:.1f} MB" if o.size else "", o.detail]
            for o in outcomes]
    styles = [{FAILED: "bold red", FETCHED: "green", NOT_NEEDED: "yellow"}.get(o.status)
              for o in outcomes]
    console.table("prefetch", ["archive", "status", "size", "detail"], rows, styles=styles)
    counts = {s: sum(1 for o in outcomes if o.status == s)
              for s in (FETCHED, PRESENT, BY_BAZEL, NOT_NEEDED, FAILED)}
    line = (f"{counts[FETCHED]} fetched, {counts[PRESENT]} already there, "
            f"{counts[BY_BAZEL]} fetched by Bazel, {counts[NOT_NEEDED]} failed but not needed "
            f"by the targets, {counts[FAILED]} failed")
    for o in outcomes:
        if o.status == NOT_NEEDED:
            console.warn(f"not needed, not fetched: {o.archive.name} ({o.archive.urls[0]}): "
                         f"{o.detail}")
    for note in skipped:
        console.note(f"not prefetched: {note}")
    (console.error if counts[FAILED] else console.success)(line)


def missing_for_offline(settings: Settings, source: Path) -> tuple[store_mod.Store, list[Archive]]:
    """The store prefetch used, and the declared archives that are not in it."""
    state = paths.state_dir(source)
    store = store_mod.load(state)
    if store is None:
        raise PreconditionError(f"no prefetch record for {source}: `--offline` needs the archives",
                                hint="run `invoke prefetch` (online, or from a mirror) first")
    items, _ = plan(settings, source, store.distdir)
    jsons, parts, _ = cuda_components(settings, source, store)
    targets = store_mod.load_targets(state) or {}
    not_needed = set(targets.get("not_needed", ())) if targets.get("ok") else set()
    return store, [a for a in (*items, *jsons, *parts)
                   if not store.has(a) and a.sha256 not in not_needed]


def prefetch(profile_ref: str | None = None, *, source: str | None = None,
             overrides: Sequence[str] = (), distdir: str | None = None, jobs: int = 4,
             bazel: bool = True) -> int:
    profile = resolve(profile_ref, overrides=overrides)
    outcomes, targets = run_prefetch(profile, source=source, distdir=distdir, jobs=jobs,
                                     bazel=bazel)
    return 1 if targets.ok is False or any(o.status == FAILED for o in outcomes) else 0
