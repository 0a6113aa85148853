"""Applying a fix to text and recognising its state. Pure functions over strings."""

from __future__ import annotations

from collections.abc import Mapping

import jinja2

from tfbuild.patching import literals
from tfbuild.patching.spec import Hunk, PatchSpec


class Drift(Exception):
    """An anchor the fix expects is not in the file (or more than once)."""

    def __init__(self, hunk: Hunk, count: int) -> None:
        super().__init__(hunk.name)
        self.hunk = hunk
        self.count = count


def _env() -> jinja2.Environment:
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                             autoescape=False)
    env.filters["starlark"] = literals.starlark
    env.filters["python"] = literals.python
    return env


def render(template: str, params: Mapping[str, object]) -> str:
    return _env().from_string(template).render(**params)


def is_patched(text: str, spec: PatchSpec) -> bool:
    return spec.marker in text


def apply(original: str, spec: PatchSpec, params: Mapping[str, object]) -> str:
    """The patched text. Raises Drift when a required anchor is missing or not unique."""
    text = original
    for hunk in spec.hunks:
        matches = list(hunk.anchor.finditer(text))
        if len(matches) != 1:
            if hunk.optional and not matches:
                continue
            raise Drift(hunk, len(matches))
        match = matches[0]
        insert = render(hunk.text, {**params, **match.groupdict()})
        at = match.end() if hunk.where == "after" else match.start()
        text = text[:at] + insert + text[at:]
    if spec.append:
        text += ("\n" if text.endswith("\n") else "\n\n") + render(spec.append, params)
    return text


def drifted_hunks(original: str, spec: PatchSpec) -> list[tuple[Hunk, int]]:
    out = []
    for hunk in spec.hunks:
        count = len(hunk.anchor.findall(original))
        if count != 1 and not (hunk.optional and count == 0):
            out.append((hunk, count))
    return out
