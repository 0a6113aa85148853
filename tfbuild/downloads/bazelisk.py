"""`invoke bazel-install`: bazelisk at a pinned version and sha256, into tfbuild's own bin dir,
through the profile's mirror when it has one. A wrong hash leaves nothing behind."""

from __future__ import annotations

import os
import platform
from collections.abc import Sequence
from pathlib import Path

import requests

from tfbuild import console, paths, pins
from tfbuild.discovery import toolchain
from tfbuild.downloads.fetch import FetchError, fetch
from tfbuild.downloads.urls import candidates
from tfbuild.errors import ConfigError, ToolMissingError
from tfbuild.patching import DEFAULT_MIRROR
from tfbuild.runner import Runner
from tfbuild.settings import resolve

MACHINES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


def platform_key() -> str:
    system = platform.system().lower()
    machine = MACHINES.get(platform.machine().lower(), platform.machine().lower())
    return f"{system}-{machine}"


def install(*, settings, url: str | None, sha256: str | None, force: bool) -> Path:
    target = paths.tool_bin_dir() / "bazelisk"
    if not force:
        found = toolchain.find_bazel(Runner(echo=False), explicit=settings.toolchain.bazel,
                                     source_dir=None, env=dict(os.environ), probe_version=False)
        if found.path:
            console.success(f"Bazel is already here: {found.path} (--force installs bazelisk anyway)")
            return Path(found.path)
    if url and not sha256:
        raise ConfigError("--url needs --sha256", hint="pass the sha256 of the file at that URL")
    if url:
        urls, digest = [url], sha256
    else:
        pin = pins.bazelisk(platform_key())
        m = settings.mirrors
        urls, digest = candidates([pin.url], m.tf_mirror or DEFAULT_MIRROR, m.direct_hosts), pin.sha256
    console.step(f"bazel-install: bazelisk into {target}")
    bar = console.DownloadBar("bazelisk")
    try:
        fetched = fetch(urls, target, digest, session=requests.Session(),
                        on_bytes=bar.advance, on_total=bar.add_total)
    except FetchError as exc:
        raise ToolMissingError(f"could not download bazelisk: {exc}",
                               hint="set mirrors.tf_mirror to a reachable mirror, or download "
                               "bazelisk yourself and pass --url file://... --sha256 ...") from None
    finally:
        bar.close()
    os.chmod(target, 0o755)
    console.success(f"bazelisk from {fetched.url} -> {target} (sha256 verified)")
    console.note(f"    tfbuild finds it there; add {target.parent} to PATH to use it yourself")
    return target


def bazel_install(profile_ref: str | None = None, *, overrides: Sequence[str] = (),
                  url: str | None = None, sha256: str | None = None, force: bool = False) -> int:
    install(settings=resolve(profile_ref, overrides=overrides).settings, url=url, sha256=sha256,
            force=force)
    return 0
