"""What Bazel itself fetched, from Bazel's own record rather than from reading Starlark.

Every Bazel command tfbuild runs (the build, the pip-mirror fetch, prefetch's `--nobuild` pass)
carries `--experimental_repository_resolved_file=<state>/.bazel-resolved/resolved.bzl`. After
the command, Bazel's RepositoryResolvedModule writes `resolved = [...]`: one entry for every
repository rule it *ran* in that command, with the attributes it ran with (checked against
Bazel 4.2.3's RepositoryResolvedModule/RepositoryResolvedEvent in Debian's
bazel-bootstrap-source; the flag also exists in Bazel 6.5). A repository already fetched in the
output base is not run again and so not listed; the entries are therefore merged into a record
kept per output base (`<state>/bazel-fetched.json`). The record is *complete* when it began on
an output base that had fetched nothing yet; a record that began on an output base that had
(fetched by an older tfbuild, or by hand) says so, and prefetch tells how to complete it.

The file is Bazel's repr of lists, dicts, strings, ints and booleans: a plain literal, read with
`ast.literal_eval`, not evaluated. Each repository with a sha256 and at least one URL (http_archive,
http_file, TF's tf_http_archive, whatever the shape of the Starlark that declared it) is an
archive a --distdir can serve: Bazel looks a file up there by the base name of the first URL
and checks its sha256 (DownloadManager.getCandidateFileNames).
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tfbuild import console, secrets
from tfbuild.downloads.archives import BAZEL_RECORD, Archive
from tfbuild.files import atomic_write

RECORD = "bazel-fetched.json"
RAW_DIR = ".bazel-resolved"  # private: the attributes may hold what the masker must see first
SHA256 = re.compile(r"^[0-9a-f]{64}$")
# Bazel's own local repositories: any command (a `query`, a `build`) makes their markers, and
# they download nothing (seen in Bazel 4.2.3's resolved file: local_repository, local_config_platform)
BUILT_IN = frozenset({"bazel_tools", "local_config_platform", "platforms"})


@dataclass(frozen=True)
class Fetched:
    """One repository rule Bazel ran: its name, rule class, and the archive it downloaded, if
    its attributes name one (`url`/`urls` and a `sha256`)."""

    repository: str
    rule_class: str
    urls: tuple[str, ...] = ()
    sha256: str = ""

    def archive(self) -> Archive | None:
        if not self.urls or not SHA256.match(self.sha256):
            return None
        return Archive(self.repository, self.sha256, self.urls,
                       f"Bazel fetched @{self.repository} ({self.rule_class.rsplit('%', 1)[-1]})",
                       BAZEL_RECORD)

    def as_dict(self) -> dict:
        return {"rule_class": self.rule_class, "urls": list(self.urls), "sha256": self.sha256}


class Unreadable(ValueError):
    pass


def _urls(attributes: dict) -> tuple[str, ...]:
    """The URLs in the order Bazel's http rules try them: `url` first, then `urls`."""
    urls: list[str] = []
    one = attributes.get("url")
    if isinstance(one, str) and one:
        urls.append(one)
    many = attributes.get("urls")
    if isinstance(many, (list, tuple)):
        urls += [u for u in many if isinstance(u, str) and u]
    return tuple(dict.fromkeys(urls))


def parse(text: str) -> list[Fetched]:
    """Bazel's `resolved = [...]` -> one Fetched per repository. Raises Unreadable."""
    name, sep, body = text.partition("=")
    if not sep or name.strip() != "resolved":
        raise Unreadable("not a resolved-repositories file (no `resolved = `)")
    try:
        entries = ast.literal_eval(body.strip())
    except (ValueError, SyntaxError, MemoryError, RecursionError) as exc:
        raise Unreadable(f"not a literal list: {exc}") from None
    if not isinstance(entries, list):
        raise Unreadable("`resolved` is not a list")
    out: list[Fetched] = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        for repo in entry.get("repositories") or ():
            if not isinstance(repo, dict) or not isinstance(repo.get("attributes"), dict):
                continue
            attributes = repo["attributes"]
            repository = attributes.get("name")
            if not isinstance(repository, str) or not repository:
                continue
            sha256 = attributes.get("sha256")
            out.append(Fetched(repository, str(repo.get("rule_class") or
                                                entry.get("original_rule_class") or ""),
                               _urls(attributes),
                               sha256.lower() if isinstance(sha256, str) else ""))
    return out


# -- the record, per output base ------------------------------------------------------------------
@dataclass(frozen=True)
class Record:
    output_base: str
    complete: bool  # began on an output base that had fetched nothing
    repositories: dict[str, Fetched]

    def archives(self) -> list[Archive]:
        return [a for a in (f.archive() for f in self.repositories.values()) if a is not None]


def fetched_markers(output_base: Path) -> list[str]:
    """The repositories Bazel has fetched into the output base: its `external/@<name>.marker`
    files (Bazel's own record of a finished fetch)."""
    external = output_base / "external"
    try:
        return sorted(p.name[1:-len(".marker")] for p in external.iterdir()
                      if p.name.startswith("@") and p.name.endswith(".marker"))
    except OSError:
        return []


def _read_all(state: Path) -> dict:
    try:
        data = json.loads((state / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) and isinstance(data.get("output_bases"), dict) else {}


def load(state: Path, output_base: Path) -> Record | None:
    entry = _read_all(state).get("output_bases", {}).get(str(output_base))
    if not isinstance(entry, dict):
        return None
    repos = {}
    for name, value in (entry.get("repositories") or {}).items():
        if isinstance(value, dict):
            repos[name] = Fetched(name, str(value.get("rule_class", "")),
                                  tuple(u for u in value.get("urls", ()) if isinstance(u, str)),
                                  str(value.get("sha256", "")))
    return Record(str(output_base), bool(entry.get("complete")), repos)


def _save(state: Path, record: Record) -> None:
    data = _read_all(state) or {"version": 1, "output_bases": {}}
    data["output_bases"][record.output_base] = {
        "complete": record.complete,
        "repositories": {n: f.as_dict() for n, f in sorted(record.repositories.items())}}
    state.mkdir(parents=True, exist_ok=True)
    atomic_write(state / RECORD, json.dumps(secrets.mask_data(data), indent=2) + "\n")


def raw_file(state: Path) -> Path:
    return state / RAW_DIR / "resolved.bzl"


def option(state: Path) -> str:
    """The flag for every Bazel command on this tree (one path per tree: it is not part of
    Bazel's configuration, so it keeps the analysis cache and every action key)."""
    return f"--experimental_repository_resolved_file={raw_file(state)}"


def begin(state: Path, output_base: Path) -> None:
    """Before a Bazel command: an output base that has fetched nothing starts a complete record
    (also after `clean --expunge`); one that has, without a record, starts an incomplete one.
    Bazel's file from an earlier command is removed (it is tfbuild's, in tfbuild's state)."""
    raw = raw_file(state)
    raw.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(raw.parent, 0o700)
    raw.unlink(missing_ok=True)
    record = load(state, output_base)
    if not [m for m in fetched_markers(output_base) if m not in BUILT_IN]:
        if record is None or record.repositories or not record.complete:
            _save(state, Record(str(output_base), True, {}))
    elif record is None:
        _save(state, Record(str(output_base), False, {}))


def finish(state: Path, output_base: Path) -> list[str]:
    """After the command (whatever its exit): merge what Bazel wrote into the record. Returns
    problems to report (the build itself is not failed for them)."""
    raw = raw_file(state)
    if not raw.is_file():
        return [f"Bazel wrote no resolved-repositories file ({raw})"]
    try:
        fetched = parse(raw.read_text(encoding="utf-8", errors="replace"))
    except Unreadable as exc:
        return [f"Bazel's resolved-repositories file {raw}: {exc}"]
    finally:
        raw.unlink(missing_ok=True)
    record = load(state, output_base) or Record(str(output_base), False, {})
    merged = dict(record.repositories)
    merged.update({f.repository: f for f in fetched})
    _save(state, Record(record.output_base, record.complete, merged))
    return []


@contextlib.contextmanager
def recording(state: Path, output_base: Path) -> Iterator[None]:
    """Around one Bazel command that carries `option(state)`."""
    begin(state, output_base)
    try:
        yield
    finally:
        for problem in finish(state, output_base):
            console.warn(f"record of what Bazel fetched not updated: {problem}")
