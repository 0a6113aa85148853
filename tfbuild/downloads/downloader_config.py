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


def _checked(key: str, url: str, allow_http: bool) -> str:
    url = url.rstrip("/")
    if not url.startswith(("https://", "http://")) or any(c.isspace() for c in url):
        raise ConfigError(f"{key} = {url!r} cannot be used in Bazel's downloader config",
                          hint="set an http(s) URL without spaces, or "
                          "mirrors.downloader_config = false")
    if url.startswith("http://") and not allow_http:
        raise ConfigError(f"{key} = {url!r} is plain http",
                          hint="use an https mirror, or set mirrors.allow_http = true")
    return url


def render(settings: Settings) -> str:
    """The config for a profile (pure): per-host mirrors first (mirrors.host_mirrors), then
    everything else through mirrors.tf_mirror when mirrors.downloader_config is on, then every
    URL as it is (the fallback: a rewrite that matches replaces the URL, so the original has to
    be rewritten to itself to stay in the list)."""
    m = settings.mirrors
    lines = ["# Bazel downloader config, written by tfbuild from the profile (mirrors.host_mirrors,",
             "# mirrors.tf_mirror, mirrors.direct_hosts): each download through its mirror first,",
             "# then at its original URL; direct hosts and URLs already on a mirror as they are."]
    mirrored_hosts = []
    for host, prefix in sorted(m.host_mirrors.items()):
        target = _checked(f"mirrors.host_mirrors.{host}", prefix, m.allow_http)
        mirrored_hosts.append(re.escape(host))
        lines.append(f"rewrite ^{re.escape(host)}(?::[0-9]+)?/(.*)$ {target}/$1")
    if m.downloader_config and m.tf_mirror:
        mirror = _checked("mirrors.tf_mirror", m.tf_mirror, m.allow_http)
        kept = [re.escape(h) for h in m.direct_hosts] + mirrored_hosts + \
            [re.escape(_without_scheme(mirror))]
        kept += [re.escape(_without_scheme(p.rstrip("/"))) for p in m.host_mirrors.values()]
        lines.append(f"rewrite ^(?!(?:{'|'.join(kept)})(?:[/:]|$))(.*)$ {mirror}/$1")
    lines.append("rewrite ^(.*)$ $1")
    return "\n".join(lines) + "\n"


def path(source: Path) -> Path:
    return paths.state_dir(source) / FILE


def options(settings: Settings, source: Path, *, write: bool = True) -> tuple[str, ...]:
    """The Bazel option for the profile (none when mirrors.downloader_config is off or there is
    no mirror); writes the file (only when its content changed) unless `write` is false."""
    m = settings.mirrors
    if not m.host_mirrors and not (m.downloader_config and m.tf_mirror):
        return ()
    target = path(source)
    text = render(settings)
    if write:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_if_changed(target, text)
    return (f"{FLAG}={target}",)
