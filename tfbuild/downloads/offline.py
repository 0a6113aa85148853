"""`build --offline`: is every archive the build needs where Bazel will look without the
network? Read only: the prefetch record, the distdir's manifest, Bazel's record of what it
fetched, the repository cache, the distdir's files (by sha256)."""

from __future__ import annotations

from pathlib import Path

from tfbuild import paths
from tfbuild.downloads import declared, resolved
from tfbuild.downloads import store as store_mod
from tfbuild.downloads.archives import Archive
from tfbuild.errors import PreconditionError
from tfbuild.settings.model import Settings


def missing_for_offline(settings: Settings, source: Path, distdir: Path | None = None
                        ) -> tuple[store_mod.Store, list[tuple[Archive, str]], list[str]]:
    """The store to build from, the archives it lacks (with why), and notes.

    The store: `distdir` when given (one carried from another machine), else what prefetch
    used here; with this profile's repository cache either way. Needed: what the tree scan and
    NVIDIA's JSON list (less what prefetch found the targets do not need), every archive in
    Bazel's record of what it fetched for them, and everything the distdir's manifest lists.
    A distdir's files are checked by sha256, as Bazel will."""
    state = paths.state_dir(source)
    saved = store_mod.load(state)
    if distdir is None and saved is None:
        raise PreconditionError(f"no prefetch record for {source}: `--offline` needs the archives",
                                hint="run `invoke prefetch` (online, or from a mirror) first, "
                                "or pass --distdir DIR with a distdir `invoke prefetch "
                                "--distdir DIR` filled elsewhere")
    store = store_mod.Store(distdir or saved.distdir,
                            store_mod.repository_cache(paths.output_user_root(settings)))
    manifest = store_mod.read_manifest(store.distdir) if store.distdir else None
    if distdir is not None and manifest is None:
        raise PreconditionError(f"{distdir} has no {store_mod.MANIFEST}: tfbuild cannot tell "
                                "what it holds", hint=f"fill it with `invoke prefetch --distdir "
                                f"{distdir}` where the network (or a mirror) is reachable")
    targets = (store_mod.load_targets(state) or {}) if distdir is None else {}
    not_needed = set(targets.get("not_needed", ())) if targets.get("ok") else set()
    if manifest:
        not_needed |= manifest.not_needed
    items, _ = declared.in_tree(settings, source, store.distdir)
    jsons, parts, _ = declared.cuda_components(settings, source, store)
    wanted = [a for a in (*items, *jsons, *parts) if a.sha256 not in not_needed]
    notes = []
    record = _prefetch_record(state, targets)
    extra = list(manifest.archives) if manifest else []
    if record is not None:
        extra += record.archives()
        if not record.complete:
            notes.append(f"Bazel's record for {record.output_base} is incomplete (it began "
                         "after Bazel had fetched repositories)")
    elif manifest is None:
        notes.append("no record of what Bazel fetched: only the tree scan's archives were "
                     "checked")
    seen = {a.sha256 for a in wanted}
    for archive in extra:
        if archive.sha256 not in seen:
            seen.add(archive.sha256)
            wanted.append(archive)
    return store, [(a, why) for a in wanted if (why := _lacks(store, a))], notes


def _lacks(store: store_mod.Store, archive: Archive) -> str:
    """"" when the build can take it without the network, else why not."""
    if store.cached(archive).is_file():
        return ""  # Bazel's repository cache (Bazel checks its sha256 itself)
    if store.distdir is None:
        return "not in the repository cache"
    target = store.path_for(archive)
    if not target.is_file():
        return f"no {target.name} in {store.distdir}"
    if not store_mod.verified(target, archive.sha256):
        return f"{target} does not have the sha256 {archive.sha256}"
    return ""


def _prefetch_record(state: Path, targets: dict) -> resolved.Record | None:
    """Bazel's record for the output base prefetch used (saved in prefetch.json)."""
    base = targets.get("output_base")
    return resolved.load(state, Path(base)) if isinstance(base, str) else None
