"""`invoke profiles`: list the profiles, or show one resolved with where each value came from."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

from tfbuild import console
from tfbuild.settings.resolve import display_path, available_profiles, resolve


def list_profiles() -> None:
    rows = []
    for name, path in available_profiles().items():
        # the settings variables stay out of the listing, but TFBUILD_PROFILES_DIR decides
        # which profiles (and what they extend) exist
        profile = resolve(name, env={k: v for k, v in os.environ.items()
                                     if k == "TFBUILD_PROFILES_DIR"})
        extends = " <- ".join(p.stem for p in reversed(profile.chain[:-1]))
        rows.append([name, extends, profile.description, display_path(path)])
    console.table("profiles", ["name", "extends", "description", "file"], rows)


def format_value(value: object) -> str:
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {json.dumps(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(json.dumps(v) for v in value) + "]"
    return str(value)


def show_profile(name: str | None, overrides: Sequence[str] = ()) -> None:
    profile = resolve(name, overrides=overrides)
    chain = " -> ".join(display_path(p) for p in profile.chain)
    console.step(f"profile {profile.name}: {profile.description}")
    console.note(f"order: packaged defaults -> {chain} -> TFBUILD_* environment -> --set")
    rows = [[key, format_value(value), str(source)] for key, value, source in profile.value_rows()]
    styles = ["dim" if source.kind == "default" else None for _, _, source in profile.value_rows()]
    console.table("", ["key", "value", "from"], rows, styles=styles)
