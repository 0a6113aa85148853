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
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import requests

from tfbuild import console, paths
from tfbuild.building import pipmirror
from tfbuild.building.command import BuildRequest
from tfbuild.building.lock import build_lock
from tfbuild.building.plan import make_plan
from tfbuild.configure.task import blocking_failures, run_configure
from tfbuild.downloads import declared, resolved
from tfbuild.downloads import store as store_mod
from tfbuild.downloads.archives import Archive
from tfbuild.downloads.fetch import FetchError, fetch
from tfbuild.downloads.urls import DEFAULT_MIRROR, candidates
from tfbuild.errors import EXIT_NOT_ALL_OK, EXIT_OK, TfbuildError
from tfbuild.files import sha256_file
from tfbuild.patching import fixes
from tfbuild.pathcheck import writable_dir
from tfbuild.runner import Runner, tail
from tfbuild.settings import ResolvedProfile, resolve
from tfbuild.settings.model import Settings

FETCHED, PRESENT, FAILED = "fetched", "already there", "failed"
COPIED = "copied from Bazel's repository cache"
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
    cached = store.cached(archive)
    if target != cached and cached.is_file():
        size = store_mod.copy_verified(cached, target, archive.sha256)
        if size is not None:
            return Outcome(archive, COPIED, size, f"from {cached.parent.parent.parent}")
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


def from_bazel_record(record: resolved.Record | None, outcomes: Sequence[Outcome]
                      ) -> tuple[list[Archive], list[str]]:
    """The archives Bazel's own record adds to what the tree scan found (the scan cannot see
    `name = name` wrappers, declarations built in functions, rules' own archives), and notes
    when the record cannot be complete. Pure."""
    if record is None:
        return [], ["Bazel's record of what it fetched is missing: only the tree scan's "
                    "archives were stored"]
    known = {o.archive.sha256 for o in outcomes}
    extra = [a for a in record.archives() if a.sha256 not in known]
    notes = []
    if not record.complete:
        notes.append(f"Bazel fetched repositories into {record.output_base} before tfbuild kept "
                     "its record: archives of those are not known. Prefetch once with an empty "
                     "output root (build.output_user_root, or --set build.output_user_root=DIR) "
                     "to list them all")
    return extra, notes


def fetch_targets(profile: ResolvedProfile, src: Path, store: store_mod.Store,
                  runner: Runner) -> TargetsFetch:
    """`bazel build --nobuild` of the build's targets with the build's startup options, rc files,
    configs and repo_env (configure and the download-mirror patch first, as `invoke build`
    does), plus the store's --distdir."""

    settings = profile.settings
    targets = tuple(settings.build.targets)
    try:
        cfg = run_configure(profile, source=src)
        blocked = blocking_failures(cfg.checks, set())
        if blocked or not cfg.facts.bazel.path:
            why = "; ".join(f"{r.id}: {r.found}" for r in blocked) or "no Bazel found"
            return TargetsFetch(None, targets, f"Bazel was not asked ({why})")
        # the build's own plan (startup options: its server; configs, repo_env, mirrors),
        # with the store's --distdir, and --nobuild
        build_plan = make_plan(profile, src,
                               BuildRequest(offline_options=tuple(store.bazel_options())), cfg)
        cmd = dataclasses.replace(build_plan.command,
                                  options=(*build_plan.command.options, "--nobuild"))
        env = build_plan.client_env
        state, output_base = build_plan.state, build_plan.output_base
        with build_lock(state, src):
            fixes.apply(settings, src, output_base,
                        only={"download-mirror", "cuda-lib64", fixes.SHIM_ID})
            pipmirror.prepare(settings, build_plan, env, runner)  # pip's index fixed first
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

            with resolved.recording(state, output_base):
                code = runner.stream(cmd.argv(), on_line=on_line, cwd=src, env=env)
    except TfbuildError as exc:
        return TargetsFetch(None, targets, f"Bazel was not asked ({exc.message})")
    seconds = time.monotonic() - start
    if code != 0:
        return TargetsFetch(False, targets, f"bazel build --nobuild failed (exit {code}):\n"
                            + tail("\n".join(lines), 15), seconds)
    return TargetsFetch(True, targets, "", seconds)


def run_prefetch(profile: ResolvedProfile, *, source: str | None = None,
                 distdir: str | None = None, jobs: int = 4, bazel: bool = True,
                 runner: Runner | None = None) -> tuple[list[Outcome], TargetsFetch]:
    settings = profile.settings
    src = paths.source_dir(settings, source)
    if distdir:
        writable_dir(paths.expand(distdir), "--distdir")
    paths.checked_state_dir(src)
    store = store_mod.Store(paths.expand(distdir) if distdir else None,
                            store_mod.repository_cache(paths.output_user_root(settings)))
    items, skipped = declared.in_tree(settings, src, store.distdir)
    where = f"--distdir {store.distdir}" if store.distdir else f"the repository cache {store.repository_cache}"
    console.step(f"prefetch: {len(items)} archives declared in {src}, into {where}")
    bar = console.DownloadBar("prefetch")
    try:
        jsons, _, notes = declared.cuda_components(settings, src, store)
        outcomes = fetch_all([*items, *jsons], store, settings, jobs=jobs, bar=bar)
        _, parts, _ = declared.cuda_components(settings, src, store)
        outcomes += fetch_all(parts, store, settings, jobs=jobs, bar=bar)
    finally:
        bar.close()
    state = paths.state_dir(src)
    store_mod.save(state, store)
    targets = fetch_targets(profile, src, store, runner or Runner(echo=True)) if bazel \
        else TargetsFetch(None, tuple(settings.build.targets), "Bazel was not asked (--no-bazel)")
    outcomes = classify(outcomes, targets, store.has)
    record_notes: list[str] = []
    if targets.ok:
        record = resolved.load(state, paths.output_base(settings, src))
        extra, record_notes = from_bazel_record(record, outcomes)
        bar = console.DownloadBar("prefetch")
        try:
            outcomes += fetch_all(extra, store, settings, jobs=jobs, bar=bar)
        finally:
            bar.close()
    store_mod.save(state, store, targets={
        "targets": list(targets.targets), "ok": targets.ok,
        "output_base": str(paths.output_base(settings, src)),
        "not_needed": sorted(o.archive.sha256 for o in outcomes if o.status == NOT_NEEDED)})
    if store.distdir:
        store_mod.write_manifest(store.distdir, store_mod.DistdirManifest(
            targets.targets, tuple(o.archive for o in outcomes if o.status != NOT_NEEDED),
            frozenset(o.archive.sha256 for o in outcomes if o.status == NOT_NEEDED)))
    _summary(outcomes, skipped + notes, record_notes)
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


def source_of(archive: Archive) -> str:
    """Which source listed the archive (Bazel's record, NVIDIA's JSON, the tree scan) and
    where."""
    return f"{archive.source}: {archive.origin.removeprefix('Bazel fetched ')}"


def _summary(outcomes: Sequence[Outcome], skipped: Sequence[str],
             record_notes: Sequence[str] = ()) -> None:
    rows = [[o.archive.name, o.status, f"{o.size / 1e6:.1f} MB" if o.size else "",
             source_of(o.archive), o.detail] for o in outcomes]
    styles = [{FAILED: "bold red", FETCHED: "green", NOT_NEEDED: "yellow"}.get(o.status)
              for o in outcomes]
    console.table("prefetch", ["archive", "status", "size", "listed by", "detail"], rows,
                  styles=styles)
    counts = {s: sum(1 for o in outcomes if o.status == s)
              for s in (FETCHED, PRESENT, COPIED, BY_BAZEL, NOT_NEEDED, FAILED)}
    line = (f"{counts[FETCHED]} fetched, {counts[PRESENT]} already there, "
            f"{counts[COPIED]} copied from Bazel's repository cache, "
            f"{counts[BY_BAZEL]} fetched by Bazel, {counts[NOT_NEEDED]} failed but not needed "
            f"by the targets, {counts[FAILED]} failed")
    for o in outcomes:
        if o.status == NOT_NEEDED:
            console.warn(f"not needed, not fetched: {o.archive.name} ({o.archive.urls[0]}): "
                         f"{o.detail}")
    for note in skipped:
        console.note(f"tree scan could not read: {note}")
    for note in record_notes:
        console.warn(note)
    (console.error if counts[FAILED] else console.success)(line)


def prefetch(profile_ref: str | None = None, *, source: str | None = None,
             overrides: Sequence[str] = (), distdir: str | None = None, jobs: int = 4,
             bazel: bool = True) -> int:
    profile = resolve(profile_ref, overrides=overrides)
    outcomes, targets = run_prefetch(profile, source=source, distdir=distdir, jobs=jobs,
                                     bazel=bazel)
    failed = targets.ok is False or any(o.status == FAILED for o in outcomes)
    return EXIT_NOT_ALL_OK if failed else EXIT_OK
