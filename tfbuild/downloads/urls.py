"""The URL order of the patched tf_mirror_urls (patches/download-mirror.toml), in Python, so
that what tfbuild downloads goes where Bazel would go. Pure."""

from __future__ import annotations

from collections.abc import Sequence

# TF's own mirror: what repo.bzl puts first, and what an empty mirrors.tf_mirror means
DEFAULT_MIRROR = "https://storage.googleapis.com/mirror.tensorflow.org"


def mirror_order(url: str, mirror: str, direct_hosts: Sequence[str]) -> list[str]:
    """[url] for non-https URLs and direct hosts, else [<mirror>/<url without https://>, url]."""
    if not url.startswith("https://"):
        return [url]
    rest = url[len("https://"):]
    if rest.split("/")[0] in direct_hosts or not mirror:
        return [url]
    return [mirror.rstrip("/") + "/" + rest, url]


def candidates(urls: Sequence[str], mirror: str, direct_hosts: Sequence[str]) -> list[str]:
    """Every URL to try for an archive declared with `urls`, mirror first, no duplicates.
    A declared URL already on the mirror is kept where it is."""
    out: list[str] = []
    for url in urls:
        order = [url] if mirror and url.startswith(mirror.rstrip("/") + "/") else \
            mirror_order(url, mirror, direct_hosts)
        for candidate in order:
            if candidate not in out:
                out.append(candidate)
    return out
