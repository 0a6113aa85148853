"""`invoke prefetch`: every archive the TF tree declares (and, for a CUDA profile, the NVIDIA
redistributions the hermetic rules will fetch), downloaded through the patched URL order,
verified, stored where Bazel looks without the network. Parallel, resumable, one progress bar,
a summary."""

from __future__ import annotations

import threading
from collections.abc import Sequence
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
from tfbuild.errors import PreconditionError
from tfbuild.files import sha256_file
from tfbuild.patching import DEFAULT_MIRROR
from tfbuild.settings import ResolvedProfile, resolve
from tfbuild.settings.model import Settings

FETCHED, PRESENT, FAILED = "fetched", "already there", "failed"


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


def plan(settings: Settings, source: Path) -> tuple[list[Archive], list[str]]:
    if not source.is_dir():
        raise PreconditionError(f"source directory {source} does not exist",
                                hint="run `invoke source`, or pass --source DIR")
    declared = archives_mod.declared_archives(source)
    return declared.archives, declared.skipped


def run_prefetch(profile: ResolvedProfile, *, source: str | None = None,
                 distdir: str | None = None, jobs: int = 4) -> list[Outcome]:
    settings = profile.settings
    src = paths.source_dir(settings, source)
    store = store_mod.Store(paths.expand(distdir) if distdir else None,
                            store_mod.repository_cache(paths.output_user_root(settings)))
    items, skipped = plan(settings, src)
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
    store_mod.save(paths.state_dir(src), store)
    _summary(outcomes, skipped + notes)
    return outcomes


def _summary(outcomes: Sequence[Outcome], skipped: Sequence[str]) -> None:
    rows = [[o.archive.name, o.status, f"{o.size / 1e6:.1f} MB" if o.size else "", o.detail]
            for o in outcomes]
    styles = [{"failed": "bold red", "fetched": "green"}.get(o.status) for o in outcomes]
    console.table("prefetch", ["archive", "status", "size", "detail"], rows, styles=styles)
    counts = {s: sum(1 for o in outcomes if o.status == s) for s in (FETCHED, PRESENT, FAILED)}
    line = f"{counts[FETCHED]} fetched, {counts[PRESENT]} already there, {counts[FAILED]} failed"
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
    items, _ = plan(settings, source)
    jsons, parts, _ = cuda_components(settings, source, store)
    return store, [a for a in (*items, *jsons, *parts) if not store.has(a)]


def prefetch(profile_ref: str | None = None, *, source: str | None = None,
             overrides: Sequence[str] = (), distdir: str | None = None, jobs: int = 4) -> int:
    profile = resolve(profile_ref, overrides=overrides)
    outcomes = run_prefetch(profile, source=source, distdir=distdir, jobs=jobs)
    return 1 if any(o.status == FAILED for o in outcomes) else 0
