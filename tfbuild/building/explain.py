"""`invoke explain A B`: why B's actions missed the cache A filled.

A and B are two builds (`dist/<profile>` directories, whose manifest names the kept execution log
and its sha256, verified before it is read) or two execution logs (tfbuild's kept
`build-STAMP.exec.json.gz`, or Bazel's own binary or JSON log). The logs are compared by
tfbuild.execlog_diff; here each cause is traced to what produces it, from what tfbuild knows of
its own builds: the rc line or command-line option that sets an action environment variable
(the manifest's `cache_keys`), and the profile key whose two values the differing text holds
(`cudnn.path` behind an `LD_LIBRARY_PATH`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tfbuild import console, execlog, execlog_diff
from tfbuild.building import manifest as manifest_mod
from tfbuild.errors import EXIT_NOT_ALL_OK, EXIT_OK, ConfigError
from tfbuild.execlog_diff import ARG, ENV, PLATFORM, SOURCE, TOOL, Cause
from tfbuild.files import sha256_file

HINT_KEEP = "build it again (the execution log is kept with build.execution_log = true, the default)"


@dataclass(frozen=True)
class Side:
    ref: str
    log: Path
    manifest: Mapping | None


def side(ref: str) -> Side:
    """A build directory (its manifest's execution log, verified) or a log file."""
    path = Path(ref).expanduser()
    if not path.exists():
        raise ConfigError(f"explain: {ref} does not exist",
                          hint="give two dist/<profile> directories of `invoke build`, or two "
                               "execution logs (build-STAMP.exec.json.gz in the state dir's logs/)")
    if not path.is_dir():
        return Side(ref, path, None)
    document = manifest_mod.load(path)
    files = ((document.get("run") or {}).get("account") or {}).get("files") or {}
    kept = files.get("execution_log")
    if not isinstance(kept, dict) or not kept.get("path"):
        raise ConfigError(f"explain: the build in {ref} kept no execution log", hint=HINT_KEEP)
    log = Path(str(kept["path"]))
    if not log.is_file():
        raise ConfigError(f"explain: the execution log of the build in {ref} is gone ({log}): "
                          "rotated away with that build's other logs",
                          hint=f"{HINT_KEEP}; build.keep_builds says how many builds' logs stay")
    if sha256_file(log) != kept.get("sha256"):
        raise ConfigError(f"explain: {log} is not the execution log the build in {ref} kept "
                          "(its sha256 differs from the manifest's)", hint=HINT_KEEP)
    return Side(ref, log, document)


def _bazel_version(s: Side) -> str | None:
    if s.manifest is None:
        return None
    return ((s.manifest.get("toolchain") or {}).get("bazel") or {}).get("version")


def _spawns(s: Side, which: str):
    try:
        yield from execlog.read(s.log)
    except execlog.ExecLogError as exc:
        raise ConfigError(f"explain: {which} ({s.log}) is not a whole Bazel execution log: it {exc}",
                          hint="give the build-STAMP.exec.json.gz tfbuild kept, or a log Bazel "
                               "wrote to the end (--execution_log_binary_file or "
                               "--execution_log_json_file)") from None


# -- what produces a cause ---------------------------------------------------------------------
def _settings(s: Side) -> dict[str, object]:
    if s.manifest is None:
        return {}
    return manifest_mod.flatten((s.manifest.get("profile") or {}).get("settings") or {})


def _origins(cause: Cause, a: Side, b: Side) -> list[str]:
    """The rc lines / options that set it, and the profile keys whose values differ the way the
    cause's values do."""
    found: list[str] = []
    if cause.kind == ENV:
        for s in (a, b):
            for entry in ((s.manifest or {}).get("cache_keys") or {}).get("inputs", []):
                value = str(entry.get("value", ""))
                if entry.get("option") in ("--action_env", "--host_action_env") and \
                        value.split("=", 1)[0] == cause.name:
                    line = f"{entry['option']} {cause.name} ({entry.get('origin', '?')})"
                    if line not in found:
                        found.append(line)
    if cause.kind in (SOURCE, TOOL) and cause.name.startswith("external/"):
        repo = cause.name.split("/")[1]
        found.append(f"repository @{repo} (written by its repository rule, not checked in)")
        found.extend(f"{option} {name}, a repository rule input that differs: {va!r} vs {vb!r}"
                     for option, name, va, vb in _repository_inputs(a, b))
    sa, sb = _settings(a), _settings(b)
    for key in sorted(set(sa) & set(sb)):
        va, vb = sa[key], sb[key]
        if va == vb or not isinstance(va, str) or not isinstance(vb, str):
            continue
        if len(va) >= 3 and len(vb) >= 3 and va in cause.a and vb in cause.b:
            found.append(f"profile key {key} ({va!r} vs {vb!r})")
    return found


def _repository_inputs(a: Side, b: Side) -> list[tuple[str, str, str, str]]:
    """The rc's repository-rule inputs (`--repo_env`) whose values differ between the builds."""
    def values(s: Side) -> dict[tuple[str, str], str]:
        out = {}
        for entry in ((s.manifest or {}).get("cache_keys") or {}).get("inputs", []):
            if entry.get("reach") == "repository":
                name, _, value = str(entry.get("value", "")).partition("=")
                out[(str(entry.get("option")), name)] = value
        return out
    va, vb = values(a), values(b)
    return [(option, name, va.get((option, name), "(unset)"), vb.get((option, name), "(unset)"))
            for option, name in sorted(set(va) | set(vb))
            if va.get((option, name)) != vb.get((option, name))]


def _shown(cause: Cause) -> str:
    """The cause, with a path-list variable's differing entries only."""
    if cause.kind == ENV and (":" in cause.a or ":" in cause.b):
        la, lb = cause.a.split(":"), cause.b.split(":")
        gone = [p for p in la if p not in lb]
        new = [p for p in lb if p not in la]
        if gone or new:
            return (f"environment {cause.name}: " + ", ".join(
                [f"A has {':'.join(gone)}"] * bool(gone) + [f"B has {':'.join(new)}"] * bool(new)))
    return cause.text()


def _runners(counts) -> str:
    return ", ".join(f"{n} {kind}" for kind, n in counts.most_common()) or "none"


def compare_builds(first: str, second: str) -> tuple[Side, Side, execlog_diff.Comparison,
                                                   list[dict]]:
    """(A, B, the comparison, its causes as dicts with what produces each)."""
    a, b = side(first), side(second)
    va, vb = _bazel_version(a), _bazel_version(b)
    if va and vb and va != vb:
        raise ConfigError(f"explain: A was built by Bazel {va}, B by Bazel {vb}: the action keys "
                          "of two Bazel versions never match, and their logs are not comparable",
                          hint="compare two builds of the same Bazel (toolchain.bazel_version)")
    index = execlog_diff.Index(_spawns(a, "A's log"))
    result = execlog_diff.compare(index, _spawns(b, "B's log"))
    causes = [{"kind": c.kind, "name": c.name, "a": c.a, "b": c.b, "actions": n,
               "examples": examples, "from": _origins(c, a, b)}
              for c, n, examples in result.causes]
    return a, b, result, causes


def explain(first: str, second: str, *, limit: int = 10, as_json: bool = False) -> int:
    a, b, result, causes = compare_builds(first, second)
    if as_json:
        console.plain(json.dumps({"a": a.ref, "b": b.ref, "actions_a": result.actions_a,
                                  "actions_b": result.actions_b, "matched": result.matched,
                                  "differing": result.differing, "only_a": result.only_a,
                                  "only_b": result.only_b, "b_ran": dict(result.runners_b),
                                  "causes": causes}, indent=2))
        return EXIT_OK if result.identical else EXIT_NOT_ALL_OK
    console.step(f"explain: A = {a.ref} ({result.actions_a} actions), "
                 f"B = {b.ref} ({result.actions_b} actions)")
    console.plain(f"  B's actions: {_runners(result.runners_b)}")
    if result.identical:
        console.success(f"no differences: all {result.matched} actions have the same key in both "
                        "builds (command line, environment, platform, input digests)")
        return EXIT_OK
    console.plain(f"  {result.differing} of {result.matched} matched actions have a key that "
                  f"differs from A's; B ran those as: {_runners(result.differing_runners_b)}")
    for label, keys in (("only in A", result.only_a), ("only in B", result.only_b)):
        if keys:
            console.plain(f"  {len(keys)} actions {label} (other targets or options), e.g. "
                          + ", ".join(keys[:3]))
    if result.only_a and not result.only_b and result.actions_b < result.actions_a:
        console.note("  B's log has fewer actions: an incremental build logs only what it ran or "
                     "fetched; compare clean builds (a teammate's first build) for every action")
    if causes:
        console.plain(f"  {len(causes)} root cause{'s' * (len(causes) != 1)}, "
                      "the one reaching most actions first:")
    for number, ((cause, n, examples), row) in enumerate(zip(result.causes, causes), 1):
        if number > limit:
            console.plain(f"  ... {len(causes) - limit} more (--limit, or --json for all)")
            break
        console.plain(f"  {number}. {_shown(cause)}")
        console.plain(f"     reaches {n} action{'s' * (n != 1)}: {'; '.join(examples)}"
                      + (" ..." if n > len(examples) else ""))
        for origin in row["from"]:
            console.plain(f"     from {origin}")
        if not row["from"] and cause.kind in (ENV, ARG, PLATFORM):
            console.plain("     from outside tfbuild's rc and profile (a --bazel-opt, the tree's "
                          ".bazelrc, or the toolchain)")
    return EXIT_NOT_ALL_OK

