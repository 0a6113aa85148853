"""The fixes in patches/*.toml, loaded as typed data."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from tfbuild import resources
from tfbuild import toml as tomllib

PATCHES_DIR = resources.path("patches")


@dataclass(frozen=True)
class Hunk:
    name: str
    anchor: re.Pattern
    where: str  # "after" or "before" the anchor
    text: str  # Jinja2 template; the anchor's named groups are available
    optional: bool = False


@dataclass(frozen=True)
class PatchSpec:
    id: str
    title: str
    why: str
    tf_versions: tuple[str, ...]
    root: str  # "source" or "output_base"
    files: tuple[str, ...]
    required: tuple[str, ...]
    hunks: tuple[Hunk, ...]
    append: str

    @property
    def marker(self) -> str:
        return f"tfbuild:{self.id}"


def _load(path: Path) -> PatchSpec:
    data = tomllib.loads(path.read_text())
    hunks = tuple(
        Hunk(name=h["name"], anchor=re.compile(h["anchor"]), where=h["where"], text=h["text"],
             optional=h.get("optional", False))
        for h in data.get("hunks", [])
    )
    return PatchSpec(
        id=data["id"], title=data["title"], why=data["why"].strip(),
        tf_versions=tuple(data["tf_versions"]), root=data["root"], files=tuple(data["files"]),
        required=tuple(data.get("required", ())), hunks=hunks,
        append=data.get("append", {}).get("text", ""),
    )


@cache
def load(patch_id: str) -> PatchSpec:
    return _load(PATCHES_DIR / f"{patch_id}.toml")


def all_specs() -> list[PatchSpec]:
    return [load(path.stem) for path in sorted(PATCHES_DIR.glob("*.toml"))]
