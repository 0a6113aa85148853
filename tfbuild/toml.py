"""TOML reading on every Python tfbuild supports: the standard library's `tomllib` from 3.11,
its origin `tomli` (the same parser, a dependency only for Python 3.10) before. The notes'
machine runs Python 3.10."""

from __future__ import annotations

import sys

if sys.version_info >= (3, 11):
    from tomllib import TOMLDecodeError, load, loads
else:  # pragma: no cover - exercised by the Python 3.10 run of the suite
    from tomli import TOMLDecodeError, load, loads

__all__ = ["TOMLDecodeError", "load", "loads"]
