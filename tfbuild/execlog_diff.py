"""Two builds' execution logs compared: which actions' keys differ, and why (pure).

An action is matched across the builds by its outputs (Bazel's `listedOutputs`: the same target
gives the same output paths in any checkout, output base or user). Its key is what Bazel hashes
for the caches: the command line, the environment, the platform and every input file's digest.
For each action whose key differs, its direct differences are sorted into causes:

- an environment variable (name, both values), a command-line argument (removed/added), the
  platform (property, both values): the same difference in many actions is one cause;
- an input file's digest (path): a **source** file (no action of the build produced it) or the
  action's own **tool** (its first argument) is a cause; a **generated** input whose digest
  differs is a consequence of the action that produced it, and that action's causes are
  inherited. A generated input that differs although its producer's key is the same is a cause of
  its own: that producer is not reproducible.

Each cause counts the actions it reaches (directly or through generated files), so a changed
header that invalidates ten thousand compiles is one cause with ten thousand actions, listed
first. Memory: the first log is held as an index (inputs as one path table, shared by every
action); the second is streamed against it.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

ENV, ARG, PLATFORM, SOURCE, TOOL, ADDED, REMOVED, UNSTABLE = (
    "environment", "argument", "platform", "source file", "tool", "input added", "input removed",
    "non-reproducible action")


@dataclass(frozen=True)
class Cause:
    kind: str  # one of the constants above
    name: str  # variable, property or path; "" for an argument change
    a: str = ""  # A's value (arguments: those removed)
    b: str = ""  # B's value (arguments: those added)

    def text(self) -> str:
        if self.kind in (ENV, PLATFORM):
            return f"{self.kind} {self.name}: {self.a!r} vs {self.b!r}"
        if self.kind == ARG:
            parts = ([f"removed {self.a}"] if self.a else []) + ([f"added {self.b}"] if self.b else [])
            return "command line: " + ", ".join(parts)
        if self.kind in (SOURCE, TOOL, UNSTABLE):
            return f"{self.kind} {self.name}: digest {self.a[:12]} vs {self.b[:12]}"
        return f"{self.kind}: {self.name}"


@dataclass(frozen=True)
class _Indexed:
    mnemonic: str
    args: tuple[str, ...]
    env: tuple[tuple[str, str], ...]
    platform: tuple[tuple[str, str], ...]
    inputs: tuple[str, ...]  # paths (digests in the log's file table)
    inputs_digest: str
    hit: bool
    runner: str


@dataclass
class Comparison:
    actions_a: int = 0
    actions_b: int = 0
    matched: int = 0
    differing: int = 0
    only_a: list[str] = field(default_factory=list)  # output paths
    only_b: list[str] = field(default_factory=list)
    runners_b: Counter = field(default_factory=Counter)  # how B's actions ran ("remote cache hit", ...)
    differing_runners_b: Counter = field(default_factory=Counter)
    causes: list[tuple[Cause, int, list[str]]] = field(default_factory=list)  # cause, reach, examples

    @property
    def identical(self) -> bool:
        return not (self.differing or self.only_a or self.only_b)


def _key(spawn: dict) -> str:
    outputs = spawn.get("listedOutputs") or [f.get("path", "") for f in spawn.get("actualOutputs", [])]
    return min(outputs) if outputs else "\0" + " ".join(spawn.get("commandArgs", []))


def _runner(spawn: dict) -> str:
    if spawn.get("remoteCacheHit"):
        return "remote cache hit"
    return spawn.get("runner") or "unknown"


def _pairs(items: Iterable[dict] | None) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((p.get("name", ""), p.get("value", "")) for p in items or ()))


def _inputs(spawn: dict) -> list[tuple[str, str]]:
    return sorted((f.get("path", ""), (f.get("digest") or {}).get("hash", ""))
                  for f in spawn.get("inputs", ()))


def _digest(pairs: list[tuple[str, str]]) -> str:
    h = hashlib.sha256()
    for path, digest in pairs:
        h.update(path.encode())
        h.update(b"\0")
        h.update(digest.encode())
        h.update(b"\n")
    return h.hexdigest()


class Index:
    """One build's log as actions by key, one path -> digest table for every input, and which
    action produced each output."""

    def __init__(self, spawns: Iterable[dict]) -> None:
        self.actions: dict[str, _Indexed] = {}
        self.files: dict[str, str] = {}
        self.producer: dict[str, str] = {}
        intern: dict[str, str] = {}
        for spawn in spawns:
            key = _key(spawn)
            pairs = _inputs(spawn)
            for path, digest in pairs:
                self.files[intern.setdefault(path, path)] = digest
            self.actions[key] = _Indexed(
                spawn.get("mnemonic", ""), tuple(spawn.get("commandArgs", ())),
                _pairs(spawn.get("environmentVariables")),
                _pairs((spawn.get("platform") or {}).get("properties")),
                tuple(intern[p] for p, _ in pairs), _digest(pairs),
                bool(spawn.get("remoteCacheHit")), _runner(spawn))
            for out in spawn.get("listedOutputs", ()):
                self.producer[out] = key


def _direct_causes(a: _Indexed, b: _Indexed, a_files: dict[str, str],
                   b_inputs: list[tuple[str, str]], b_generated: set[str],
                   a_generated: set[str]) -> tuple[list[Cause], list[tuple[str, str, str]]]:
    """(causes, generated inputs whose digest differs: path, A's digest, B's) of one matched
    action."""
    causes: list[Cause] = []
    if a.env != b.env:
        ea, eb = dict(a.env), dict(b.env)
        for name in sorted(set(ea) | set(eb)):
            if ea.get(name) != eb.get(name):
                causes.append(Cause(ENV, name, ea.get(name, "(unset)"), eb.get(name, "(unset)")))
    if a.platform != b.platform:
        pa, pb = dict(a.platform), dict(b.platform)
        for name in sorted(set(pa) | set(pb)):
            if pa.get(name) != pb.get(name):
                causes.append(Cause(PLATFORM, name, pa.get(name, "(unset)"), pb.get(name, "(unset)")))
    if a.args != b.args:
        ca, cb = Counter(a.args), Counter(b.args)
        removed, added = sorted((ca - cb).elements()), sorted((cb - ca).elements())
        if removed or added:
            causes.append(Cause(ARG, "", " ".join(removed), " ".join(added)))
        else:
            causes.append(Cause(ARG, "", "(the same arguments in another order)", ""))
    generated: list[tuple[str, str, str]] = []
    if a.inputs_digest != _digest(b_inputs):
        a_paths = set(a.inputs)
        tool = b.args[0] if b.args else ""
        b_paths = set()
        for path, digest in b_inputs:
            b_paths.add(path)
            if path not in a_paths:
                causes.append(Cause(ADDED, path))
            elif a_files.get(path) != digest:
                if path in b_generated or path in a_generated:
                    generated.append((path, a_files.get(path, ""), digest))
                else:
                    causes.append(Cause(TOOL if path == tool else SOURCE, path,
                                        a_files.get(path, ""), digest))
        causes.extend(Cause(REMOVED, path) for path in sorted(a_paths - b_paths))
    return causes, generated


def compare(a: Index, b_spawns: Iterable[dict], *, examples: int = 3) -> Comparison:
    """A (indexed) against B (streamed)."""
    result = Comparison(actions_a=len(a.actions))
    a_generated = set(a.producer)
    seen: set[str] = set()
    direct: dict[str, list[Cause]] = {}
    inherited: dict[str, list[tuple[str, str, str]]] = {}  # B action -> generated inputs that differ
    b_producer: dict[str, str] = {}
    pending: list[tuple[str, _Indexed, list[tuple[str, str]]]] = []
    b_keys: dict[str, _Indexed] = {}
    for spawn in b_spawns:
        result.actions_b += 1
        key = _key(spawn)
        runner = _runner(spawn)
        result.runners_b[runner] += 1
        for out in spawn.get("listedOutputs", ()):
            b_producer[out] = key
        other = a.actions.get(key)
        if other is None:
            result.only_b.append(key)
            continue
        seen.add(key)
        result.matched += 1
        pairs = _inputs(spawn)
        mine = _Indexed(spawn.get("mnemonic", ""), tuple(spawn.get("commandArgs", ())),
                        _pairs(spawn.get("environmentVariables")),
                        _pairs((spawn.get("platform") or {}).get("properties")),
                        (), "", bool(spawn.get("remoteCacheHit")), runner)
        if (other.args, other.env, other.platform, other.inputs_digest) == \
                (mine.args, mine.env, mine.platform, _digest(pairs)):
            continue
        b_keys[key] = mine  # only the differing ones are kept
        result.differing += 1
        result.differing_runners_b[runner] += 1
        pending.append((key, other, pairs))
    result.only_a = sorted(set(a.actions) - seen)
    result.only_b.sort()
    b_generated = set(b_producer)
    for key, other, pairs in pending:
        direct[key], inherited[key] = _direct_causes(other, b_keys[key], a.files, pairs,
                                                     b_generated, a_generated)
    differing = set(direct)

    roots: dict[str, frozenset[Cause]] = {}

    def root_causes(key: str, trail: frozenset[str] = frozenset()) -> frozenset[Cause]:
        if key in roots:
            return roots[key]
        found = set(direct.get(key, ()))
        for path, digest_a, digest_b in inherited.get(key, ()):
            producer = b_producer.get(path) or a.producer.get(path)
            if producer in differing and producer not in trail:
                found |= root_causes(producer, trail | {key})
            elif producer not in differing:  # its key is the same, its output is not
                found.add(Cause(UNSTABLE, path, digest_a, digest_b))
        roots[key] = frozenset(found)
        return roots[key]

    reach: Counter = Counter()
    where: dict[Cause, list[str]] = {}
    for key in sorted(differing):
        for cause in root_causes(key):
            reach[cause] += 1
            listed = where.setdefault(cause, [])
            if len(listed) < examples:
                listed.append(f"{b_keys[key].mnemonic} {key}")
    result.causes = [(cause, n, where[cause])
                     for cause, n in sorted(reach.items(), key=lambda item: (-item[1], item[0].kind,
                                                                           item[0].name))]
    return result
