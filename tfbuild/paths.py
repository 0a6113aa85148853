"""Where things are: setting paths expanded, and tfbuild's own state directory."""

from __future__ import annotations

import os
from pathlib import Path

from tfbuild.settings.model import Settings


def expand(value: str) -> Path:
    """`~` expanded; relative paths taken from the current directory."""
    return Path(os.path.abspath(Path(value).expanduser()))


def source_dir(settings: Settings, override: str | Path | None = None) -> Path:
    return expand(str(override) if override else settings.tensorflow.source_dir)


def state_dir(source: Path) -> Path:
    """tfbuild's records for one TF tree (environment, backups, patch state, locks)."""
    override = os.environ.get("TFBUILD_STATE_DIR")
    return Path(override).expanduser() if override else source / ".tfbuild"
