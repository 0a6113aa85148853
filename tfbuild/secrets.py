"""The one masker: every byte tfbuild prints or writes about a run passes through `mask`.

Policy (issue 19): credentials never belong in a URL. A profile value, `TFBUILD_*` variable or
flag that carries `user:password@` in a URL is refused when it is read (settings/validate.py and
the flags), pointing at `remote.header_env` (caches, executors) or `~/.netrc` (pip and download
mirrors). What still reaches tfbuild's outputs by another way is masked here, in one place:

- the values registered at run time (an auth header read from `remote.header_env`'s variable);
- the user-info part of any URL (`scheme://user:pw@host` -> `scheme://***@host`);
- the value of Bazel's header options (`--remote_header=`, `--remote_cache_header=`,
  `--remote_exec_header=`, `--remote_downloader_header=`, `--bes_header=`);
- `Authorization:` / `Proxy-Authorization:` header values and `Bearer` tokens;
- `NAME=value` where NAME looks secret (TOKEN, SECRET, PASSWORD, AUTH, HEADER, API_KEY, ...).

Outputs that go through it: the console (stdout and stderr, errors included), the runner's
echoes and records, the build log, the kept build events, manifest.json and JSON reports.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable

MASK = "***"
SECRET_NAME = re.compile(r"(TOKEN|SECRET|PASSWORD|PASSWD|AUTH|HEADER|API_KEY|CREDENTIAL)", re.I)

_URL_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<info>[^/\s@\"'<>]+)@")
_HEADER_OPTIONS = (r"--(?:remote_header|remote_cache_header|remote_exec_header|"
                   r"remote_downloader_header|bes_header)[= ]")
_QUOTED_HEADER_OPTION = re.compile(r"(?P<q>['\"])(?P<opt>" + _HEADER_OPTIONS + r")[^'\"]*(?P=q)")
# unquoted: a header's value may hold spaces (`Authorization: Basic ...`), so it runs to the
# next option or the end of the line (masking too much is safe, too little is not)
_HEADER_OPTION = re.compile(r"(?P<opt>" + _HEADER_OPTIONS + r")(?!\*\*\*)(?P<value>[^\n'\"]+?)"
                            r"(?=\s+--|[\n'\"]|$)", re.M)
_AUTH_HEADER = re.compile(r"(?P<name>\b(?:Proxy-)?Authorization\s*[:=]\s*)(?P<value>[^\s\"',]+"
                          r"(?:\s+[^\s\"',]+)?)", re.I)
_BEARER = re.compile(r"(?P<name>\bBearer\s+)(?P<value>[A-Za-z0-9._~+/=-]{8,})")
_ASSIGNMENT = re.compile(r"(?<![A-Za-z0-9_])(?P<name>[A-Za-z_][A-Za-z0-9_]*)="
                         r"(?P<value>\"[^\"]*\"|'[^']*'|[^\s\"',]*)")

# What no shown or rendered text may hold: C0 controls other than tab and newline (the callers decide
# about those), DEL, C1 controls, and the bidi overrides and isolates that make a terminal show
# other text than there is. One pattern for the console (shown as escapes) and validation
# (refused); validation also refuses tab and newline.
UNSAFE_CHARS = "\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069"

_lock = threading.Lock()
_registered: list[str] = []


def register(*values: str | None) -> None:
    """Mask these exact strings from now on (shorter than 4 characters are too common to mask)."""
    with _lock:
        for value in values:
            if value and len(value) >= 4 and value not in _registered:
                _registered.append(value)
        _registered.sort(key=len, reverse=True)


def registered() -> tuple[str, ...]:
    with _lock:
        return tuple(_registered)


def forget_all() -> None:
    """For tests: start again with nothing registered."""
    with _lock:
        _registered.clear()


def url_credentials(text: str) -> str | None:
    """The user-info of the first URL in text that carries one (for the refusal message's sake
    only the fact is used, never the value)."""
    match = _URL_USERINFO.search(text)
    return match.group("info") if match else None


def secret_name(name: str) -> bool:
    """A variable or key whose value is a secret (`API_TOKEN`); `remote.header_env` and other
    `*_env` keys name a variable, they do not hold its value."""
    return bool(SECRET_NAME.search(name)) and not name.lower().endswith("_env")


def _assignment(match: re.Match) -> str:
    name, value = match.group("name"), match.group("value")
    if secret_name(name) and value:
        return f"{name}={MASK}"
    inner = mask(value) if "=" in value else value  # --client_env=API_TOKEN=...
    return f"{name}={inner}"


def mask(text: str) -> str:
    """text with every secret replaced by ***."""
    if not text:
        return text
    for value in registered():
        if value in text:
            text = text.replace(value, MASK)
    if "://" in text:
        text = _URL_USERINFO.sub(lambda m: f"{m.group('scheme')}{MASK}@", text)
    if "_header" in text:
        text = _QUOTED_HEADER_OPTION.sub(lambda m: f"{m['q']}{m['opt']}{MASK}{m['q']}", text)
        text = _HEADER_OPTION.sub(lambda m: f"{m.group('opt')}{MASK}", text)
    if "uthorization" in text or "UTHORIZATION" in text:
        text = _AUTH_HEADER.sub(lambda m: f"{m.group('name')}{MASK}", text)
    if "earer" in text:
        text = _BEARER.sub(lambda m: f"{m.group('name')}{MASK}", text)
    if "=" in text:
        text = _ASSIGNMENT.sub(_assignment, text)
    return text


# one whole string that is an option or variable assignment: `--client_env=NAME=value`
_WHOLE_ASSIGNMENT = re.compile(r"^(--)?(client_env=|action_env=|repo_env=|host_action_env=)?"
                               r"([A-Za-z_][\w.-]*)=(.*)$", re.S)


def mask_data(value: object, key: str = "") -> object:
    """A JSON-like value with every string masked; the whole value of a mapping key that looks
    secret (`{"API_TOKEN": "..."}`) and of a string that assigns one (`--client_env=API_TOKEN=a b`)."""
    if isinstance(value, str):
        if key and secret_name(key) and value:
            return MASK
        whole = _WHOLE_ASSIGNMENT.match(value)
        if whole and secret_name(whole.group(3)) and whole.group(4):
            return f"{whole.group(1) or ''}{whole.group(2) or ''}{whole.group(3)}={MASK}"
        return mask(value)
    if isinstance(value, dict):
        named = value.get("name")  # {"name": "API_TOKEN", "value": ...}: Bazel's env pairs
        if isinstance(named, str) and secret_name(named) and value.get("value"):
            value = {**value, "value": MASK}
        return {k: mask_data(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_data(v) for v in value]
    return value


def mask_all(texts: Iterable[str]) -> list[str]:
    return [mask(t) for t in texts]
