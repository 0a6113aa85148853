"""The build's own account of the cache, read from the data Bazel writes (pure: text in, data out).

What it says: how many actions ran on this machine, came from the remote cache or the disk cache,
ran remotely or were internal; the wall and critical-path time; the slowest actions.

Where each part comes from, best first (`Account.sources` names the one used):

- counts: the Build Event Protocol file (`--build_event_json_file`), event `buildMetrics`,
  `actionSummary.runnerCount` — one entry per runner name ("total", "internal",
  "remote cache hit", "disk cache hit", "linux-sandbox", "remote", ...) with an optional
  `execKind` (Bazel 5.1 and later, e.g. 6.5; bazel's MetricsCollector fills it from the same
  SpawnStats summary the console prints). Debian's Bazel 4.2.3 has no runnerCount; it writes
  the console's process summary ("4 processes: 3 remote cache hit, 1 internal.") as the
  `buildToolLogs` entry "process stats" (base64 text), read next. The console line itself
  (progress.BuildSummary.process_kinds) is the last resort.
- wall time: the BEP `started` and `finished` events (start/finish time of the command).
- critical path: BEP `timingMetrics.criticalPathTime` where Bazel writes it (newer Bazels), else
  the JSON trace profile (`--profile`): the sum of its "critical path component" events, else
  the BEP `buildToolLogs` entry "critical path" ("Critical Path: 0.72s, ...").
- slowest actions: the profile's "action processing" events (one per action, its duration).

Bazel before 5 reports a disk cache hit as "remote cache hit". With only a disk cache configured
those are disk cache hits; with only a remote cache, remote ones; with both they cannot be told
apart and are reported as such (`cache_hits_unsplit`).
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from tfbuild import secrets

INTERNAL = "internal"
TOTAL = "total"
DISK_HIT = "disk cache hit"
REMOTE_EXEC = "remote"
TOP = 10

_CRITICAL_TEXT = re.compile(r"Critical Path: ([\d.]+)s")
_PROCESSES_TEXT = re.compile(r"^\s*(\d+) process(?:es)?(?:: (.*?))?\.?\s*$")


# -- the facts read from each file ----------------------------------------------------------------
@dataclass(frozen=True)
class BepFacts:
    """What the account uses from the Build Event Protocol file."""

    runner_counts: dict[str, int] | None = None  # actionSummary.runnerCount (Bazel 5.1+)
    exec_kinds: dict[str, str] = field(default_factory=dict)
    process_stats: str | None = None  # buildToolLogs "process stats" (text, Bazel 4.2.3)
    critical_path_text: str | None = None  # buildToolLogs "critical path"
    critical_path_s: float | None = None  # timingMetrics.criticalPathTime
    start_ms: int | None = None
    finish_ms: int | None = None
    success: bool | None = None
    options: tuple[str, ...] = ()  # optionsParsed.cmdLine: the effective options, rc files included
    bazel_bin: str | None = None  # workspaceInfo.localExecRoot + the targets' configuration BINDIR
    # Each top-level target's default outputs as Bazel names them (targetCompleted's output
    # groups, resolved through namedSetOfFiles): (label, succeeded, file URIs), in event order.
    target_outputs: tuple[tuple[str, bool, tuple[str, ...]], ...] = ()
    # Every download, as Bazel's `fetch` events name it: (URL, succeeded), in event order.
    fetches: tuple[tuple[str, bool], ...] = ()


@dataclass(frozen=True)
class ProfileFacts:
    """What the account uses from the JSON trace profile."""

    actions: tuple[tuple[str, float, str | None], ...] = ()  # (description, seconds, mnemonic)
    critical_path_s: float | None = None


@dataclass(frozen=True)
class SlowAction:
    description: str
    seconds: float
    mnemonic: str | None = None

    def as_dict(self) -> dict:
        out = {"action": self.description, "seconds": round(self.seconds, 3)}
        if self.mnemonic:
            out["mnemonic"] = self.mnemonic
        return out


@dataclass(frozen=True)
class Account:
    total: int | None = None  # actions Bazel counted (local action-cache hits are not counted)
    local: int | None = None  # executed on this machine (sandboxed, local, worker)
    remote_executed: int = 0  # executed by a remote executor
    remote_cache_hits: int | None = None
    disk_cache_hits: int | None = None
    cache_hits_unsplit: int = 0  # "remote cache hit" from a Bazel < 5 with disk and remote caches
    internal: int | None = None
    runners: dict[str, int] = field(default_factory=dict)  # as Bazel names them
    wall_s: float | None = None
    critical_path_s: float | None = None
    slowest: tuple[SlowAction, ...] = ()
    sources: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def known(self) -> bool:
        return self.total is not None

    def as_dict(self) -> dict:
        return {
            "actions": {"total": self.total, "executed_locally": self.local,
                        "executed_remotely": self.remote_executed,
                        "remote_cache_hits": self.remote_cache_hits,
                        "disk_cache_hits": self.disk_cache_hits,
                        "cache_hits_disk_or_remote": self.cache_hits_unsplit,
                        "internal": self.internal, "runners": dict(self.runners)},
            "wall_s": _round(self.wall_s),
            "critical_path_s": _round(self.critical_path_s),
            "slowest_actions": [a.as_dict() for a in self.slowest],
            "sources": dict(self.sources),
            "notes": list(self.notes),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


# -- Build Event Protocol ---------------------------------------------------------------------------
def read_bep(lines: Iterable[str]) -> BepFacts:
    """The facts from a BEP JSON file (one event per line). Lines that do not parse (a stream
    cut short when Bazel was killed) are skipped."""
    facts: dict = {}
    exec_root, bindirs, target_configs = None, {}, set()
    named_sets: dict[str, tuple[list[str], list[str]]] = {}
    completed: list[tuple[str, bool, list[str], list[str]]] = []
    fetches: list[tuple[str, bool]] = []
    for line in lines:
        line = line.strip()
        if not line:
            continue
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if not isinstance(event, dict):
            continue
        if "started" in event:
            facts["start_ms"] = _millis(event["started"], "startTimeMillis", "startTime")
        elif "finished" in event:
            finished = event["finished"]
            facts["finish_ms"] = _millis(finished, "finishTimeMillis", "finishTime")
            if "overallSuccess" in finished:
                facts["success"] = bool(finished["overallSuccess"])
            elif isinstance(finished.get("exitCode"), dict):
                facts["success"] = finished["exitCode"].get("code", 0) == 0
        elif "buildMetrics" in event:
            facts.update(_metrics(event["buildMetrics"]))
        elif "buildToolLogs" in event:
            facts.update(_tool_logs(event["buildToolLogs"]))
        elif "optionsParsed" in event:
            facts["options"] = tuple(event["optionsParsed"].get("cmdLine", ()))
        elif "workspaceInfo" in event:
            exec_root = event["workspaceInfo"].get("localExecRoot")
        elif "configuration" in event and isinstance(event.get("id"), dict):
            config_id = (event["id"].get("configuration") or {}).get("id")
            bindir = (event["configuration"].get("makeVariable") or {}).get("BINDIR")
            if config_id and bindir:
                bindirs[config_id] = bindir
        elif "namedSetOfFiles" in event and isinstance(event.get("id"), dict):
            named = event["namedSetOfFiles"] or {}
            set_id = str((event["id"].get("namedSet") or {}).get("id"))
            named_sets[set_id] = ([_file_ref(f) for f in named.get("files", [])
                                   if isinstance(f, dict)],
                                  [str(c.get("id")) for c in named.get("fileSets", [])
                                   if isinstance(c, dict)])
        if isinstance(event.get("id"), dict) and isinstance(event["id"].get("fetch"), dict) \
                and "fetch" in event:
            url = event["id"]["fetch"].get("url")
            if isinstance(url, str):
                fetches.append((url, bool((event["fetch"] or {}).get("success"))))
        if isinstance(event.get("id"), dict) and "targetCompleted" in event["id"]:
            target = event["id"]["targetCompleted"]
            config = target.get("configuration") or {}
            target_configs.add(config.get("id"))
            if "aspect" not in target and ("completed" in event or "aborted" in event):
                done = event.get("completed") or {}
                groups = [str(fs.get("id")) for group in done.get("outputGroup", [])
                          if isinstance(group, dict) and group.get("name") == "default"
                          for fs in group.get("fileSets", []) if isinstance(fs, dict)]
                important = [_file_ref(f) for f in done.get("importantOutput", [])
                             if isinstance(f, dict)]
                completed.append((str(target.get("label")), bool(done.get("success")), groups,
                                  important))
    wanted = {bindirs.get(c) for c in target_configs}
    if exec_root and len(wanted) == 1 and None not in wanted:
        facts["bazel_bin"] = os.path.join(exec_root, wanted.pop())
    facts["target_outputs"] = tuple(
        (label, ok, tuple(_local(ref, exec_root) for ref in (_files(sets, named_sets) or important)))
        for label, ok, sets, important in completed)
    facts["fetches"] = tuple(fetches)
    return BepFacts(**facts)


def _file_ref(entry: Mapping) -> str:
    """A BEP file as `uri` plus, for a remote URI (bytestream:// with a remote cache), where
    Bazel put its local copy: `<uri>\0<pathPrefix>/<name>` (resolved by _local)."""
    uri = str(entry.get("uri", ""))
    if uri.startswith("file://"):
        return uri
    prefix = [str(p) for p in entry.get("pathPrefix", []) or []]
    return f"{uri}\0{'/'.join([*prefix, str(entry.get('name', ''))])}"


def _local(ref: str, exec_root: str | None) -> str:
    """file:// of an output's local copy under the exec root (Bazel downloads the outputs of a
    remote cache hit there unless told not to); the remote URI when there is none."""
    uri, _, relative = ref.partition("\0")
    if relative and exec_root:
        path = os.path.join(exec_root, relative)
        if os.path.lexists(path):
            return "file://" + path
    return uri


def _files(set_ids: list[str], named_sets: Mapping[str, tuple[list[str], list[str]]]) -> list[str]:
    """The file URIs of named sets and the sets they include, each once, in order."""
    out: dict[str, None] = {}
    seen_sets: set[str] = set()
    stack = list(reversed(set_ids))
    while stack:
        set_id = stack.pop()
        if set_id in seen_sets or set_id not in named_sets:
            continue
        seen_sets.add(set_id)
        files, children = named_sets[set_id]
        out.update(dict.fromkeys(files))
        stack.extend(reversed(children))
    return list(out)


def _millis(payload: Mapping, millis_key: str, time_key: str) -> int | None:
    if payload.get(millis_key) is not None:
        return int(payload[millis_key])
    stamp = payload.get(time_key)
    if isinstance(stamp, str):
        try:
            return int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() * 1000)
        except ValueError:
            return None
    return None


def _metrics(metrics: Mapping) -> dict:
    out: dict = {}
    summary = metrics.get("actionSummary") or {}
    if summary.get("runnerCount"):
        counts: dict[str, int] = {}
        kinds: dict[str, str] = {}
        for entry in summary["runnerCount"]:
            name = entry.get("name", "")
            counts[name] = counts.get(name, 0) + int(entry.get("count", 0))
            if entry.get("execKind"):
                kinds[name] = str(entry["execKind"])
        out["runner_counts"], out["exec_kinds"] = counts, kinds
    critical = (metrics.get("timingMetrics") or {}).get("criticalPathTime")
    if critical is not None:
        out["critical_path_s"] = _duration(critical)
    return out


def _duration(value) -> float | None:
    """A protobuf Duration in its JSON form ("1.5s"), or {"seconds", "nanos"}."""
    if isinstance(value, str) and value.endswith("s"):
        try:
            return float(value[:-1])
        except ValueError:
            return None
    if isinstance(value, Mapping):
        return int(value.get("seconds", 0)) + int(value.get("nanos", 0)) / 1e9
    return None


def _tool_logs(logs: Mapping) -> dict:
    out: dict = {}
    for entry in logs.get("log", ()):
        name, contents = entry.get("name"), entry.get("contents")
        if contents is None:
            continue
        try:
            text = base64.b64decode(contents).decode("utf-8", "replace")
        except ValueError:
            continue
        if name == "process stats":
            out["process_stats"] = text
        elif name == "critical path":
            out["critical_path_text"] = text
    return out


def parse_process_stats(text: str) -> dict[str, int] | None:
    """"4 processes: 3 remote cache hit, 1 internal." -> {"total": 4, kind: count, ...}."""
    match = _PROCESSES_TEXT.match(text.strip().splitlines()[0] if text.strip() else "")
    if not match:
        return None
    counts = {TOTAL: int(match.group(1))}
    for part in (match.group(2) or "").split(", "):
        count, _, kind = part.partition(" ")
        if count.isdigit() and kind:
            counts[kind] = counts.get(kind, 0) + int(count)
    return counts


# -- JSON trace profile -----------------------------------------------------------------------------
ACTION_CATEGORY = "action processing"
CRITICAL_CATEGORY = "critical path component"


def read_profile(document) -> ProfileFacts:
    """The facts from a JSON trace profile: {"traceEvents": [...]} or a bare event list."""
    events = document.get("traceEvents", ()) if isinstance(document, Mapping) else document
    actions: list[tuple[str, float, str | None]] = []
    critical_us = 0
    critical_seen = False
    for event in events or ():
        if not isinstance(event, Mapping) or event.get("ph") != "X":
            continue
        category = event.get("cat")
        if category == ACTION_CATEGORY:
            args = event.get("args") if isinstance(event.get("args"), Mapping) else {}
            actions.append((str(event.get("name", "")), int(event.get("dur", 0)) / 1e6,
                            args.get("mnemonic")))
        elif category == CRITICAL_CATEGORY:
            critical_seen = True
            critical_us += int(event.get("dur", 0))
    return ProfileFacts(tuple(actions), critical_us / 1e6 if critical_seen else None)


# -- the account ---------------------------------------------------------------------------------
def caches_configured(options: Sequence[str]) -> tuple[bool, bool]:
    """(disk cache, remote cache) from Bazel options; the last value of each flag wins."""
    disk = remote = False
    for option in options:
        if option.startswith("--disk_cache="):
            disk = bool(option.partition("=")[2])
        elif option.startswith("--remote_cache="):
            remote = bool(option.partition("=")[2])
    return disk, remote


def make_account(bep: BepFacts | None, profile: ProfileFacts | None,
                 console_kinds: Mapping[str, int] | None, *, options: Sequence[str] = (),
                 top: int = TOP) -> Account:
    """The account from whatever was read. `options` are the Bazel options tfbuild passed; the
    BEP's effective options (rc files included) are used instead when it has them."""
    sources: dict[str, str] = {}
    notes: list[str] = []
    runners, split_by_bazel = _runner_counts(bep, console_kinds, sources)
    fields: dict = {}
    if runners is not None:
        disk, remote = caches_configured(bep.options if bep and bep.options else options)
        fields.update(_classify(runners, bep.exec_kinds if bep else {}, split_by_bazel,
                                disk=disk, remote=remote, notes=notes))
    else:
        notes.append("Bazel's action counts were not found (no build event file, no process "
                     "summary)")
    if bep and bep.start_ms is not None and bep.finish_ms is not None:
        fields["wall_s"] = max(0, bep.finish_ms - bep.start_ms) / 1000
        sources["wall"] = "bep:started/finished"
    fields["critical_path_s"] = _critical_path(bep, profile, sources)
    if profile and profile.actions:
        ranked = sorted(profile.actions, key=lambda a: (-a[1], a[0]))[:top]
        fields["slowest"] = tuple(SlowAction(name, seconds, mnemonic)
                                  for name, seconds, mnemonic in ranked)
        sources["slowest"] = "profile:action processing"
    elif profile is None:
        notes.append("no profile: the slowest actions are unknown")
    return Account(**fields, sources=sources, notes=tuple(notes))


def _runner_counts(bep: BepFacts | None, console_kinds: Mapping[str, int] | None,
                   sources: dict[str, str]) -> tuple[dict[str, int] | None, bool]:
    """(counts by runner name with a "total", whether Bazel names disk hits itself)."""
    if bep and bep.runner_counts:
        sources["counts"] = "bep:buildMetrics.actionSummary.runnerCount"
        counts = dict(bep.runner_counts)
        counts.setdefault(TOTAL, sum(counts.values()))
        return counts, True
    if bep and bep.process_stats and (parsed := parse_process_stats(bep.process_stats)):
        sources["counts"] = "bep:buildToolLogs[process stats]"
        return parsed, DISK_HIT in parsed
    if console_kinds:
        sources["counts"] = "console:INFO processes"
        counts = dict(console_kinds)
        counts[TOTAL] = sum(console_kinds.values())
        return counts, DISK_HIT in counts
    return None, False


def _classify(runners: Mapping[str, int], exec_kinds: Mapping[str, str], split_by_bazel: bool,
              *, disk: bool, remote: bool, notes: list[str]) -> dict:
    local = executed_remotely = remote_hits = disk_hits = internal = 0
    for name, count in runners.items():
        if name == TOTAL:
            continue
        if name == INTERNAL:
            internal += count
        elif name == DISK_HIT:
            disk_hits += count
        elif name.endswith("cache hit"):
            remote_hits += count
        elif name == REMOTE_EXEC or exec_kinds.get(name, "").lower() == "remote":
            executed_remotely += count
        else:
            local += count
    out = {"total": runners.get(TOTAL, sum(runners.values())), "local": local,
           "remote_executed": executed_remotely, "internal": internal,
           "runners": {k: v for k, v in runners.items() if k != TOTAL}}
    if split_by_bazel or not remote_hits:
        out.update(remote_cache_hits=remote_hits, disk_cache_hits=disk_hits)
    elif disk and not remote:
        out.update(remote_cache_hits=0, disk_cache_hits=remote_hits)
        notes.append("this Bazel reports disk cache hits as \"remote cache hit\"; only a disk "
                     "cache was configured, so they are disk cache hits")
    elif remote and not disk:
        out.update(remote_cache_hits=remote_hits, disk_cache_hits=0)
    else:
        out.update(remote_cache_hits=None, disk_cache_hits=None, cache_hits_unsplit=remote_hits)
        notes.append("this Bazel reports disk and remote cache hits alike (\"remote cache hit\"); "
                     "with both caches configured they cannot be told apart")
    return out


def _critical_path(bep: BepFacts | None, profile: ProfileFacts | None,
                   sources: dict[str, str]) -> float | None:
    if bep and bep.critical_path_s is not None:
        sources["critical_path"] = "bep:timingMetrics.criticalPathTime"
        return bep.critical_path_s
    if profile and profile.critical_path_s is not None:
        sources["critical_path"] = "profile:critical path component"
        return profile.critical_path_s
    if bep and bep.critical_path_text and (match := _CRITICAL_TEXT.search(bep.critical_path_text)):
        sources["critical_path"] = "bep:buildToolLogs[critical path]"
        return float(match.group(1))
    return None


# -- rendering ------------------------------------------------------------------------------------
def _count(value: int | None, what: str) -> str:
    return f"{'?' if value is None else value} {what}"


def summary_line(account: Account) -> str:
    """"3 executed locally, 0 remote cache hits, 1 disk cache hit, 1 internal (5 in all)"."""
    if not account.known:
        return "actions: unknown"
    parts = [_count(account.local, "executed locally")]
    if account.remote_executed:
        parts.append(_count(account.remote_executed, "executed remotely"))
    if account.cache_hits_unsplit:
        parts.append(f"{account.cache_hits_unsplit} cache hits (disk or remote)")
    else:
        parts.append(_count(account.remote_cache_hits, "remote cache hits"))
        parts.append(_count(account.disk_cache_hits, "disk cache hits"))
    parts.append(_count(account.internal, "internal"))
    return "actions: " + ", ".join(parts) + f" ({account.total} in all)"


def _seconds(value: float | None) -> str:
    return "?" if value is None else f"{value:.2f} s"


def lines(account: Account) -> list[str]:
    """The account as printed after a build."""
    out = [summary_line(account),
           f"time: {_seconds(account.wall_s)} wall, {_seconds(account.critical_path_s)} "
           "critical path"]
    if account.slowest:
        out.append(f"slowest actions ({len(account.slowest)}):")
        out += [f"  {a.seconds:8.2f} s  {a.description}" for a in account.slowest]
    return out


# -- keeping the BEP file without secrets ------------------------------------------------------------
def redact_bep_line(line: str) -> str:
    """One BEP event with every secret replaced by "***" (secrets.mask_data: the values of
    options and environment variables whose name looks secret, `--client_env=API_TOKEN=...`,
    `--remote_header=...`, URL credentials, and the registered secret strings)."""
    try:
        event = json.loads(line)
    except ValueError:
        return secrets.mask(line.rstrip("\n"))
    return json.dumps(secrets.mask_data(event), separators=(",", ":"))
