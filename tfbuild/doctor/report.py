"""Doctor's output: a Rich table for people, one JSON document with stable keys for programs."""

from __future__ import annotations

import json
from collections.abc import Sequence

from tfbuild import __version__, console
from tfbuild.doctor.checks import summary
from tfbuild.doctor.rows import FAIL, OK, SKIP, WARN, Check
from tfbuild.settings.resolve import ResolvedProfile, display_path

STYLE = {OK: "green", WARN: "yellow", FAIL: "bold red", SKIP: "dim"}


def profile_info(profile: ResolvedProfile) -> dict:
    return {
        "name": profile.name,
        "path": display_path(profile.path) if profile.path else None,
        "extends": [display_path(p) for p in profile.chain[:-1]],
        "tensorflow": profile.settings.tensorflow.version,
        "cuda": profile.settings.cuda.enabled,
    }


def as_json(profile: ResolvedProfile, rows: Sequence[Check]) -> str:
    document = {
        "tfbuild": __version__,
        "profile": profile_info(profile),
        "checks": [row.as_dict() for row in rows],
        "summary": summary(rows),
    }
    return json.dumps(document, indent=2, sort_keys=False)


def print_table(profile: ResolvedProfile, rows: Sequence[Check]) -> None:
    info = profile_info(profile)
    console.step(f"doctor: profile {info['name']} ({info['path']}), TensorFlow "
                 f"{info['tensorflow']}, {'CUDA' if info['cuda'] else 'CPU only'}")
    console.table(
        "",
        ["check", "status", "found", "expected", "fix"],
        [[r.id, r.status + (" (blocking)" if r.blocks else ""), r.found, r.expected, r.hint]
         for r in rows],
        styles=[STYLE[r.status] if r.status != OK else None for r in rows],
    )
    s = summary(rows)
    line = f"{s[OK]} ok, {s[WARN]} warn, {s[FAIL]} fail, {s[SKIP]} skipped"
    if s["blocking"]:
        line += f"; blocking configure/build: {', '.join(s['blocking'])}"
    (console.error if s[FAIL] else console.success)(line)
