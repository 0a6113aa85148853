"""Profile values that end up inside Starlark and Python source: validated, then escaped, so
that no value can add code to a patched file."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from tfbuild.errors import ConfigError

_HOST = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                   r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*(?::\d{1,5})?$")
_URL_PATH = re.compile(r"^[A-Za-z0-9._~%!$&'()*+,;=:@/-]*$")


def validate_url(key: str, value: str, *, allow_http: bool) -> str:
    """An http(s) URL with a host name and a plain path; returns it without a trailing slash."""
    shown = value.encode("unicode_escape").decode()
    schemes = ("https", "http") if allow_http else ("https",)
    parts = urlsplit(value)
    if parts.scheme not in schemes:
        hint = (f"use an https:// URL for {key}" if parts.scheme == "http" and not allow_http
                else f"set {key} to an {' or '.join(schemes)} URL")
        if parts.scheme == "http" and not allow_http:
            hint += " (or set mirrors.allow_http = true to accept plain http)"
        raise ConfigError(f"{key} = {shown!r} is not an {'/'.join(schemes)} URL", hint=hint)
    if not _HOST.match(parts.netloc) or not _URL_PATH.match(parts.path) or parts.query \
            or parts.fragment or any(c.isspace() for c in value):
        raise ConfigError(f"{key} = {shown!r} is not a plain URL (host name and path only; no "
                          "quotes, spaces, backslashes, query or fragment)",
                          hint=f"fix {key}")
    return value.rstrip("/")


def validate_host(key: str, value: str) -> str:
    if not _HOST.match(value):
        shown = value.encode("unicode_escape").decode()
        raise ConfigError(f"{key} entry {shown!r} is not a host name",
                          hint=f"list host names only in {key}, e.g. developer.download.nvidia.com")
    return value


def _escaped(value: str) -> str:
    out = []
    for char in value:
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif char == "\t":
            out.append("\\t")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            raise ValueError(f"control character {ord(char):#x} in a string literal")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def starlark(value: str) -> str:
    """A double-quoted Starlark string literal holding exactly `value`."""
    return _escaped(str(value))


def python(value: str) -> str:
    """A double-quoted Python string literal holding exactly `value`."""
    return _escaped(str(value))
