"""Checking and converting setting values: TOML values are type-checked, strings from the
environment and `--set` are parsed into the key's type. Errors name the key and where it came
from."""

from __future__ import annotations

import difflib
import typing
from collections.abc import Iterable
from typing import Literal

from tfbuild import toml as tomllib
from tfbuild.errors import ConfigError
from tfbuild.settings.model import type_name

TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off"}


def suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _describe(value: object) -> str:
    kind = {bool: "boolean", int: "integer", str: "string", list: "list", dict: "table",
            float: "float"}.get(type(value), type(value).__name__)
    return f"{value!r} ({kind})"


def _article(noun: str) -> str:
    return ("an " if noun[0] in "aeiou" else "a ") + noun


def check_value(dotted: str, tp: object, value: object, where: str) -> object:
    """Type-check a value that came from TOML; return it (lists and dicts copied)."""
    origin = typing.get_origin(tp)
    wrong = ConfigError(
        f"{where}: {dotted} must be {_article(type_name(tp))}, got {_describe(value)}",
        hint=f"change {dotted} in {where}",
    )
    if origin is Literal:
        choices = typing.get_args(tp)
        if not isinstance(value, str) or value not in choices:
            raise ConfigError(
                f"{where}: {dotted} must be one of {type_name(tp)}, got {value!r}"
                + (suggest(value, choices) if isinstance(value, str) else ""),
                hint=f"change {dotted} in {where}",
            )
        return value
    if origin is list:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise wrong
        return list(value)
    if origin is dict:
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise wrong
        return dict(value)
    if tp is bool:
        if not isinstance(value, bool):
            raise wrong
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise wrong
        return value
    if tp is str:
        if not isinstance(value, str):
            raise wrong
        return value
    raise TypeError(f"unsupported setting type {tp!r}")  # a bug in the model, not user input


def parse_text(dotted: str, tp: object, text: str, where: str) -> object:
    """Parse a string from the environment or `--set` into the key's type."""
    origin = typing.get_origin(tp)
    hint = f"fix the value given by {where}"
    if origin is list:
        stripped = text.strip()
        if stripped.startswith("["):
            value = _toml_value(dotted, stripped, where)
        else:
            value = [item.strip() for item in stripped.split(",") if item.strip()]
        return check_value(dotted, tp, value, where)
    if origin is dict:
        stripped = text.strip()
        if stripped.startswith("{"):
            value = _toml_value(dotted, stripped, where)
        else:
            value = {}
            for item in filter(None, (p.strip() for p in stripped.split(","))):
                if "=" not in item:
                    raise ConfigError(
                        f"{where}: {dotted} expects KEY=VALUE pairs separated by commas, "
                        f"got {item!r}", hint=hint)
                key, _, val = item.partition("=")
                value[key.strip()] = val.strip()
        return check_value(dotted, tp, value, where)
    if tp is bool:
        lowered = text.strip().lower()
        if lowered in TRUE:
            return True
        if lowered in FALSE:
            return False
        raise ConfigError(f"{where}: {dotted} must be true or false, got {text!r}", hint=hint)
    if tp is int:
        try:
            return int(text.strip())
        except ValueError:
            raise ConfigError(f"{where}: {dotted} must be an integer, got {text!r}",
                              hint=hint) from None
    return check_value(dotted, tp, text, where)


def _toml_value(dotted: str, text: str, where: str) -> object:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: {dotted} is not a valid TOML value: {exc}",
                          hint=f"fix the value given by {where}") from None
