"""Where bazelisk keeps the Bazel binaries it downloaded, and whether one is there.

Layout of bazelisk 1.25 (checked by running the real binary against a loopback server):
`<home>/downloads/sha256/<sha256>/bin/bazel` holds the binary, and
`<home>/downloads/metadata/<source>/bazel-<version>-<platform>` holds its sha256 (hex, no newline),
where `<source>` is `bazelbuild` for the default download location, or BAZELISK_BASE_URL with
every character other than a letter or digit replaced by `-`
(`http://127.0.0.1:8080` -> `http---127-0-0-1-8080`). `<home>` is BAZELISK_HOME, else
`$XDG_CACHE_HOME/bazelisk`, else `~/.cache/bazelisk` (Go's os.UserCacheDir). With BAZELISK_BASE_URL
set, bazelisk fetches `<base>/<version>/bazel-<version>-<platform>`: GitHub's release layout.
"""

from __future__ import annotations

import os
import platform as _platform
import re
from collections.abc import Mapping
from pathlib import Path

DEFAULT_SOURCE = "bazelbuild"
MACHINES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}


def platform_key() -> str:
    """Bazel's release-file platform: `linux-x86_64`, `linux-arm64`."""
    machine = _platform.machine().lower()
    return f"{_platform.system().lower()}-{MACHINES.get(machine, machine)}"


def home(env: Mapping[str, str]) -> Path:
    if env.get("BAZELISK_HOME"):
        return Path(env["BAZELISK_HOME"]).expanduser()
    xdg = env.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path(env.get("HOME") or Path.home()) / ".cache"
    return base / "bazelisk"


def source_name(base_url: str | None) -> str:
    """The metadata directory bazelisk uses for a download location (None: its default)."""
    return re.sub(r"[^A-Za-z0-9]", "-", base_url) if base_url else DEFAULT_SOURCE


def file_name(version: str, platform: str) -> str:
    return f"bazel-{version}-{platform}"


def binary_path(root: Path, sha256: str) -> Path:
    return root / "downloads" / "sha256" / sha256 / "bin" / "bazel"


def metadata_path(root: Path, source: str, version: str, platform: str) -> Path:
    return root / "downloads" / "metadata" / source / file_name(version, platform)


def cached(version: str, env: Mapping[str, str], platform: str | None = None) -> Path | None:
    """The binary bazelisk would run for `version` without downloading, given env's
    BAZELISK_BASE_URL / BAZELISK_HOME; None when it would download first."""
    root = home(env)
    meta = metadata_path(root, source_name(env.get("BAZELISK_BASE_URL")), version,
                         platform or platform_key())
    try:
        sha = meta.read_text().strip()
    except OSError:
        return None
    binary = binary_path(root, sha)
    return binary if re.fullmatch(r"[0-9a-f]{64}", sha) and os.access(binary, os.X_OK) else None


def release_base(url: str, version: str) -> str:
    """BAZELISK_BASE_URL that makes bazelisk fetch `url` (`<base>/<version>/<file>`)."""
    suffix = f"/{version}/"
    return url[:url.rindex(suffix)] if suffix in url else url.rsplit("/", 2)[0]


def is_bazelisk(path: str, limit: int = 32 << 20) -> bool:
    """bazelisk under its own name (bazelisk, bazelisk-linux-amd64, npm's bazelisk.js), or
    installed as `bazel`: a file under 32 MB (bazelisk's Go binary is about 6 MB, a Bazel
    release about 50 MB) naming its Go module github.com/bazelbuild/bazelisk."""
    real = os.path.realpath(path)
    if "bazelisk" in os.path.basename(path) or "bazelisk" in os.path.basename(real):
        return True
    try:
        if os.path.getsize(real) > limit:
            return False
        with open(real, "rb") as handle:
            return b"github.com/bazelbuild/bazelisk" in handle.read()
    except OSError:
        return False


def wanted_version(source_dir: Path | None, env: Mapping[str, str]) -> str | None:
    """The version bazelisk will pick: USE_BAZEL_VERSION, else the tree's .bazelversion (None
    when neither names one, or it is not a plain version bazelisk could find in its cache)."""
    version = env.get("USE_BAZEL_VERSION", "").strip()
    if not version and source_dir:
        try:
            version = (source_dir / ".bazelversion").read_text().strip().splitlines()[0].strip()
        except (OSError, IndexError):
            version = ""
    return version if re.fullmatch(r"\d+\.\d+\.\d+(rc\d+)?", version) else None


def base_url(source_dir: Path | None, env: Mapping[str, str]) -> tuple[str, str] | None:
    """BAZELISK_BASE_URL as bazelisk finds it: the environment, else the workspace's
    .bazeliskrc, else ~/.bazeliskrc; (URL, where it was set)."""
    if env.get("BAZELISK_BASE_URL"):
        return env["BAZELISK_BASE_URL"], "the environment (BAZELISK_BASE_URL)"
    home = env.get("HOME")
    candidates = ([source_dir / ".bazeliskrc"] if source_dir else []) + \
        ([Path(home) / ".bazeliskrc"] if home else [])
    for rc in candidates:
        try:
            text = rc.read_text(errors="replace") if rc.is_file() else ""
        except OSError:
            continue
        for line in text.splitlines():
            key, _, value = line.strip().partition("=")
            if key.strip() == "BAZELISK_BASE_URL" and value.strip():
                return value.strip().strip('"'), str(rc)
    return None
