"""manifest.json: what was built, from what, with what, how; and `invoke manifest --diff`.

Everything but the `run` section (dates, durations, host) is a function of the inputs, so two
builds from the same inputs give manifests that differ only there; the diff ignores it unless
asked.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from pathlib import Path

from tfbuild import __version__, archive_diff, cachekeys, console, secrets, sums
from tfbuild.configure.plan import source_date
from tfbuild.container import record as container_record
from tfbuild.errors import EXIT_NOT_ALL_OK, EXIT_OK, ConfigError
from tfbuild.files import atomic_write
from tfbuild.pathcheck import broken_link, read_text
from tfbuild.paths import RC_NAME

MANIFEST = "manifest.json"
VOLATILE = ("run.",)
GROUPS = {
    "toolchain": "toolchain",
    "container": "container image",
    "patches": "patches",
    "configure": "configure",
    "cache_keys": "cache keys",
    "bazel.argv": "options",
    "bazel.environment": "environment",
    "profile": "profile",
    "tensorflow": "source",
    "artifacts": "artifacts",
    "remote": "remote",
    "wheel": "wheel audit",
}


def toolchain_section(facts) -> dict:
    def tool(t):
        return {"path": t.path, "version": t.version} if t else None

    clang = facts.clang
    return {
        "clang": {"path": clang.bazel_path or clang.path, "version": clang.version},
        "lld": tool(facts.lld), "gcc": tool(facts.gcc), "g++": tool(facts.gxx),
        "bazel": {"path": facts.bazel.path, "version": facts.bazel.version},
        "python": {"path": facts.python.executable or facts.python.path,
                   "version": facts.python.version},
        "cuda": ({"root": facts.cuda.root, "version": facts.cuda.version,
                  "layout": facts.cuda.layout} if facts.cuda else None),
        "cudnn": ({"root": facts.cudnn.root, "version": facts.cudnn.version}
                  if facts.cudnn else None),
    }


def build_manifest(*, profile, settings, facts, patches: Iterable[dict], rc_sha256: str,
                   argv: list[str], environment: Mapping[str, str | None], cwd: str,
                   artifacts: Iterable[dict], run: Mapping[str, object],
                   key_inputs: Iterable[cachekeys.KeyInput] = (),
                   system_rc: Iterable[dict] = (), heap: Mapping | None = None) -> dict:
    source = facts.source
    return {
        "tfbuild": __version__,
        "profile": {"name": profile.name, "files": [str(p) for p in profile.chain],
                    "settings": {s: dataclasses.asdict(getattr(settings, s))
                                 for s in ("tensorflow", "toolchain", "cuda", "mirrors", "build",
                                           "remote", "docker")}},
        "tensorflow": {"version": source.tf_version if source else None,
                       "git_commit": source.git_commit if source else None,
                       "git_describe": source.git_describe if source else None,
                       "source": source.path if source else None,
                       # the time the wheel's entries carry, and where it came from
                       "source_date_epoch": source_date(settings, facts).as_dict()},
        "toolchain": toolchain_section(facts),
        "container": container_record.section(),  # None outside a tfbuild image
        "patches": list(patches),
        "configure": {"file": RC_NAME, "sha256": rc_sha256},
        "cache_keys": {"inputs": [i.as_dict() for i in key_inputs]},
        "bazel": {"argv": argv, "cwd": cwd,
                  "environment": {k: v for k, v in environment.items() if v is not None},
                  "unset_environment": sorted(k for k, v in environment.items() if v is None),
                  "system_rc": list(system_rc),  # read; ~/.bazelrc is not (--nohome_rc)
                  "heap": dict(heap) if heap else None},  # the -Xmx decision and its reason
        "remote": {"cache": settings.remote.cache, "executor": settings.remote.executor,
                   "header_env": settings.remote.header_env},
        "artifacts": list(artifacts),
        "run": dict(run),
    }


def write(path: Path, manifest: Mapping) -> None:
    """Written atomically, every string through the one masker (secrets.mask_data)."""

    atomic_write(path, json.dumps(secrets.mask_data(dict(manifest)), indent=2, sort_keys=False)
                 + "\n")


def load(ref: str | Path) -> dict:
    path = Path(ref)
    if path.is_dir():
        import os


        if os.path.lexists(path / sums.SUMS):  # the hashes compared must be the files' own
            sums.verify(path, list(sums.read(path)))
        path = path / MANIFEST

    broken_link(path, "manifest --diff")
    if not path.exists():
        raise ConfigError(f"no manifest at {path}",
                          hint="give a manifest.json or a dist/<profile> directory")
    text = read_text(path, "manifest --diff")
    try:
        document = json.loads(text)
    except RecursionError:
        raise ConfigError(f"{path} is nested too deeply to be a manifest",
                          hint="give a manifest.json written by `invoke build`") from None
    except ValueError as exc:
        raise ConfigError(f"{path} is not valid JSON: {exc}") from None
    check_shape(document, path)
    return document


# The sections `manifest --diff` reads, and the JSON type each must have.
SHAPE = {"profile": dict, "tensorflow": dict, "toolchain": dict, "patches": list,
         "configure": dict, "cache_keys": dict, "bazel": dict, "remote": dict, "artifacts": list,
         "run": dict, "wheel": dict}
MAX_DEPTH = 32


def _depth(value: object, limit: int) -> int:
    stack = [(value, 1)]
    deepest = 0
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if deepest > limit:
            return deepest
        if isinstance(item, dict):
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, level + 1) for v in item)
    return deepest


def check_shape(document: object, path: Path) -> None:
    """A manifest is a JSON object whose known sections have their types (`[]`, `42`,
    `{"cache_keys": 5}` are refused with the section named, not met as a traceback later)."""
    fix = "give a manifest.json written by `invoke build` (or a dist/<profile> directory)"
    if not isinstance(document, dict):
        raise ConfigError(f"{path} is not a manifest: a JSON {type(document).__name__}, not an "
                          "object", hint=fix)
    for key, kind in SHAPE.items():
        if key in document and not isinstance(document[key], kind):
            raise ConfigError(f"{path}: section {key!r} is a JSON {type(document[key]).__name__}, "
                              f"not {'an object' if kind is dict else 'a list'}", hint=fix)
    inputs = (document.get("cache_keys") or {}).get("inputs", [])
    fields = {"origin", "config", "option", "value", "reach"}
    if not isinstance(inputs, list) or not all(
            isinstance(i, dict) and set(i) == fields and all(isinstance(v, str) for v in i.values())
            for i in inputs):
        raise ConfigError(f"{path}: cache_keys.inputs is not a list of "
                          f"{{{', '.join(sorted(fields))}}} objects", hint=fix)
    for key in ("toolchain", "bazel", "profile", "tensorflow", "remote", "configure"):
        section = document.get(key) or {}
        if key == "toolchain" and not all(v is None or isinstance(v, dict)
                                          for v in section.values()):
            raise ConfigError(f"{path}: toolchain entries are not objects", hint=fix)
    if _depth(document, MAX_DEPTH) > MAX_DEPTH:
        raise ConfigError(f"{path} is nested more than {MAX_DEPTH} levels deep: not a manifest",
                          hint=fix)


def flatten(value: object, prefix: str = "") -> dict[str, object]:
    if isinstance(value, dict):
        out: dict[str, object] = {}
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}{key}."))
        return out
    if isinstance(value, list) and value and all(isinstance(i, dict) for i in value):
        out = {}
        for index, item in enumerate(value):
            key = item.get("name") or item.get("file") or str(index)
            out.update(flatten(item, f"{prefix}{key}."))
        return out
    return {prefix.rstrip("."): value}


def diff(a: Mapping, b: Mapping, *, include_run: bool = False) -> list[tuple[str, str, object, object]]:
    """(group, key, value in A, value in B) for every difference."""
    fa, fb = flatten(a), flatten(b)
    rows = []
    for key in sorted(set(fa) | set(fb)):
        if not include_run and key.startswith(VOLATILE):
            continue
        if fa.get(key) != fb.get(key):
            group = next((g for prefix, g in GROUPS.items() if key.startswith(prefix)), "other")
            rows.append((group, key, fa.get(key, "(absent)"), fb.get(key, "(absent)")))
    return rows


def diff_command(first: str, second: str, *, include_run: bool = False) -> int:
    """`invoke manifest --diff A B`: 0 when the builds match, 1 when they differ."""
    a, b = load(first), load(second)
    keys_verdict(cachekeys.compare(a, b), has_inputs="cache_keys" in a and "cache_keys" in b)
    rows = diff(a, b, include_run=include_run)
    if not rows:
        console.success("the builds match (toolchain, patches, options, environment, artifacts)")
        return EXIT_OK
    groups = sorted({g for g, *_ in rows})
    console.table(f"{len(rows)} differences in: {', '.join(groups)}", ["what", "key", "A", "B"],
                  [[g, k, json.dumps(va), json.dumps(vb)] for g, k, va, vb in rows])
    if "artifacts" in groups:
        console.warn("artifact hashes differ")
        for line in differing_members(Path(first), Path(second), a, b):
            console.plain(line)
    else:
        console.info("artifact hashes are the same")
    return EXIT_NOT_ALL_OK


def differing_members(first: Path, second: Path, a: Mapping, b: Mapping) -> list[str]:
    """For each wheel or tarball whose hash differs between two dist directories: which members
    differ and how (archive_diff), or why they cannot be compared."""
    if not (first.is_dir() and second.is_dir()):
        return ["  (give the two dist/<profile> directories to see which members differ)"]
    digests_b = {x.get("name"): x.get("sha256") for x in b.get("artifacts") or []
                 if isinstance(x, dict)}
    lines = []
    for item in a.get("artifacts") or []:
        name = item.get("name") if isinstance(item, dict) else None
        if not name or not archive_diff.is_archive(Path(name)) or name not in digests_b \
                or digests_b[name] == item.get("sha256"):
            continue
        try:
            diffs = archive_diff.compare(first / name, second / name)
        except archive_diff.NotAnArchive as exc:
            lines.append(f"  {name}: members not compared: {exc}")
            continue
        lines.append(f"  {name}: {len(diffs)} member(s) differ")
        lines += [f"    {line}" for line in archive_diff.summary(diffs)]
    return lines


def keys_verdict(cmp: cachekeys.KeyComparison, *, has_inputs: bool) -> None:
    """First line of `manifest --diff`: can the two builds share cache entries at all?"""
    if not has_inputs:
        console.warn("a manifest has no cache_keys section (written by an older tfbuild): "
                     "only the toolchain can be compared for action keys")
    if cmp.can_match:
        console.success("action keys can match: same values in .tf_configure.bazelrc and on the "
                        "command line, same toolchain (a shared cache gives hits)")
    else:
        console.warn("action keys cannot match: a shared cache gives no hits between these builds")
        for text in cmp.action_only_in_a:
            console.plain(f"  only in A: {text}")
        for text in cmp.action_only_in_b:
            console.plain(f"  only in B: {text}")
        for name, va, vb in cmp.toolchain:
            console.plain(f"  toolchain {name}: A {va} / B {vb}")
    for text in cmp.repository_only_in_a + cmp.repository_only_in_b:
        console.note(f"  repository setting differs (re-fetch, not an action key): {text}")
