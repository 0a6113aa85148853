"""Bazel's downloader config, generated from the profile's mirror: every http(s) download Bazel
makes (tf_http_archive, rules_python's and other plain http_archives, the python-build-standalone
interpreter) is tried through `mirrors.tf_mirror` first, then at its original URL, without
editing the tree. The repo.bzl patch (the notes' way) stays; this covers what it cannot reach.

File syntax (Bazel's UrlRewriterConfig, the same in 4.2.3, 6.5 and later): one directive per
line, `rewrite <regex> <replacement>`, `allow <host>`, `block <host>`, `#` comments. The regex must
match the whole URL without its scheme (`github.com/...`); `$1` refers to its groups; a
replacement without a scheme keeps the original's, one with `http://`/`https://` sets it (Bazel
4.2.3 does this, checked here). When a rewrite matches, only the rewritten URLs are tried, so the
file rewrites every URL twice: to the mirror, then to itself. Direct hosts and URLs already on the
mirror are only rewritten to themselves. Passed as `--experimental_downloader_config=FILE`.

The file lives in tfbuild's state dir, whose path differs between users; that does not matter to
caches: the option is not part of any action key, and changing or dropping it keeps Bazel's
analysis cache (checked with Bazel 4.2.3: `0 targets configured`, then after `bazel clean` a
rebuild with another file path gets disk-cache hits).
"""

from __future__ import annotations

import re
from pathlib import Path

from tfbuild import paths
from tfbuild.errors import ConfigError
from tfbuild.files import write_if_changed
from tfbuild.settings.model import Settings

FILE = "bazel_downloader.cfg"
FLAG = "--experimental_downloader_config"


def _without_scheme(url: str) -> str:
    return url.split("://", 1)[1] if "://" in url else url


def render(settings: Settings) -> str:
    """The config for a profile (pure)."""
    m = settings.mirrors
    mirror = m.tf_mirror.rstrip("/")
    if not mirror.startswith(("https://", "http://")) or any(c.isspace() for c in mirror):
        raise ConfigError(f"mirrors.tf_mirror = {m.tf_mirror!r} cannot be used in Bazel's "
                          "downloader config", hint="set an http(s) URL without spaces, or "
                          "mirrors.downloader_config = false")
    if mirror.startswith("http://") and not m.allow_http:
        raise ConfigError(f"mirrors.tf_mirror = {m.tf_mirror!r} is plain http",
                          hint="use an https mirror, or set mirrors.allow_http = true")
    kept = [re.escape(h) for h in m.direct_hosts] + [re.escape(_without_scheme(mirror))]
    return (
        "# Bazel downloader config, written by tfbuild from the profile (mirrors.tf_mirror,\n"
        "# mirrors.direct_hosts): every http(s) download through the mirror first, then at its\n"
        "# original URL; direct hosts and URLs already on the mirror as they are.\n"
        f"rewrite ^(?!(?:{'|'.join(kept)})(?:[/:]|$))(.*)$ {mirror}/$1\n"
        "rewrite ^(.*)$ $1\n"
    )


def path(source: Path) -> Path:
    return paths.state_dir(source) / FILE


def options(settings: Settings, source: Path, *, write: bool = True) -> tuple[str, ...]:
    """The Bazel option for the profile (none when mirrors.downloader_config is off or there is
    no mirror); writes the file (only when its content changed) unless `write` is false."""
    if not settings.mirrors.downloader_config or not settings.mirrors.tf_mirror:
        return ()
    target = path(source)
    text = render(settings)
    if write:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_if_changed(target, text)
    return (f"{FLAG}={target}",)
