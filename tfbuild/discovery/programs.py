"""Finding programs and asking them their version, without ever failing: a probe that does not
work is a finding, not a crash."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from tfbuild.discovery import probecache
from tfbuild.errors import Interrupted, TfbuildError
from tfbuild.runner import Runner


def probe(runner: Runner, argv: Sequence[str], *, cwd: str | Path | None = None,
          timeout: float = 20, input: str | None = None,
          env: Mapping[str, str | None] | None = None,
          depends_on: Sequence[str | Path] = (), cache_key: str | None = None) -> tuple[bool, str]:
    """Run a probe; (succeeded, stdout+stderr). Never raises for a missing or failing tool.

    With `depends_on` (the files whose identity decides the answer) and an active probe cache,
    a remembered success is returned without running anything; `cache_key` replaces the argv as
    the key when the argv holds temporary paths."""
    cache = probecache.active() if depends_on else None
    key = cache_key or json.dumps([list(map(str, argv)), str(cwd or ""), input])
    if cache and (output := cache.get(key, depends_on)) is not None:
        return True, output
    try:
        result = runner.run(argv, cwd=cwd, check=False, timeout=timeout, input=input, env=env)
    except Interrupted:  # a stopped probe stops the command; never a fact
        raise
    except TfbuildError as exc:
        return False, str(exc)
    if cache and result.ok:
        cache.put(key, depends_on, result.output)
    return result.ok, result.output


def path_dirs(env: Mapping[str, str]) -> list[Path]:
    return [Path(p) for p in env.get("PATH", "").split(os.pathsep) if p]


def which(name: str, env: Mapping[str, str]) -> str | None:
    for directory in path_dirs(env):
        candidate = directory / name
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def which_matching(pattern: str, env: Mapping[str, str]) -> list[str]:
    """Every executable on PATH whose name matches the regex, in PATH order."""
    regex = re.compile(pattern)
    found: list[str] = []
    for directory in path_dirs(env):
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            continue
        for name in names:
            candidate = directory / name
            if regex.fullmatch(name) and os.access(candidate, os.X_OK) and os.path.isfile(candidate):
                found.append(str(candidate))
    return found


def unique_by_target(paths: Iterable[str]) -> list[str]:
    """Drop paths that resolve to a file already listed (keeps the first name seen)."""
    seen: set[str] = set()
    out: list[str] = []
    for path in paths:
        real = os.path.realpath(path)
        if real not in seen and os.path.exists(path):
            seen.add(real)
            out.append(path)
    return out


def version_key(path: str) -> tuple[int, ...]:
    numbers = re.findall(r"\d+", path)
    return tuple(int(n) for n in numbers)
