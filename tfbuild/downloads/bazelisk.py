"""`invoke bazel-install`: bazelisk at a pinned version and sha256, into tfbuild's own bin dir,
and the Bazel release the tree's `.bazelversion` names, into bazelisk's own cache, both through the
profile's mirror when it has one and verified by sha256. A wrong hash leaves nothing behind.

Installing the Bazel release here, once and with a progress bar, means bazelisk never has to
download it on first use, where doctor's 20 s version probe would cut the download off (bazelisk
keeps no partial file)."""

from __future__ import annotations

import os
import platform
import re
import time
from collections.abc import Sequence
from pathlib import Path

import requests

from tfbuild import console, paths, pins
from tfbuild.discovery import bazelisk_cache, toolchain
from tfbuild.downloads.fetch import FetchError, fetch
from tfbuild.downloads.urls import DEFAULT_MIRROR, candidates
from tfbuild.errors import ConfigError, ToolMissingError
from tfbuild.files import atomic_write
from tfbuild.runner import Runner
from tfbuild.settings import resolve
from tfbuild.settings.validate import credentials_problem, short_repr

MACHINES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


def platform_key() -> str:
    system = platform.system().lower()
    machine = MACHINES.get(platform.machine().lower(), platform.machine().lower())
    return f"{system}-{machine}"


def check_flags(url: str | None, sha256: str | None, bazel_sha256: str | None) -> None:
    """The flags' shapes, before any directory is made or any host is asked."""
    for flag, value in (("--sha256", sha256), ("--bazel-sha256", bazel_sha256)):
        if value is not None and not re.fullmatch(r"[0-9a-fA-F]{64}", value):
            raise ConfigError(f"{flag} {short_repr(value)} is not a sha256 (64 hex digits)",
                              hint=f"pass {flag} with the file's sha256 (sha256sum FILE)")
    if url is not None:
        if not url.startswith(("https://", "http://", "file://")) or any(c.isspace() for c in url):
            raise ConfigError(f"--url {short_repr(url)} is not an https://, http:// or file:// URL",
                              hint="pass --url https://HOST/PATH or --url file:///path/to/bazelisk")
        problem = credentials_problem(url)
        if problem:
            raise ConfigError(f"--url {problem[0]}", hint=problem[1])
    if url and not sha256:
        raise ConfigError("--url needs --sha256", hint="pass the sha256 of the file at that URL")


def install_bazelisk(*, settings, url: str | None, sha256: str | None, force: bool) -> Path:
    target = paths.tool_bin_dir() / "bazelisk"
    if not force:
        found = toolchain.find_bazel(Runner(echo=False), explicit=settings.toolchain.bazel,
                                     source_dir=None, env=dict(os.environ), probe_version=False)
        if found.path:
            console.success(f"Bazel is already here: {found.path} (--force installs bazelisk anyway)")
            return Path(found.path)
    check_flags(url, sha256, None)
    if url:
        urls, digest = [url], (sha256 or "").lower()
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
                               "bazelisk yourself and pass --url file:///path/to/it --sha256 "
                               "HEX") from None
    finally:
        bar.close()
    os.chmod(target, 0o755)
    console.success(f"bazelisk from {fetched.url} -> {target} (sha256 verified)")
    console.note(f"    tfbuild finds it there; add {target.parent} to PATH to use it yourself")
    return target


def bazel_version(settings, source_dir: Path) -> str:
    """The Bazel version to install: toolchain.bazel_version, else USE_BAZEL_VERSION or the tree's
    .bazelversion (what bazelisk reads), else the version TF's pins name."""
    if settings.toolchain.bazel_version != "from-source":
        return settings.toolchain.bazel_version
    return (bazelisk_cache.wanted_version(source_dir, os.environ)
            or pins.tensorflow(settings.tensorflow.version).bazel)


def install_release(*, settings, version: str, sha256: str | None, force: bool,
                    env: dict[str, str], source_dir: Path | None = None) -> Path:
    """Bazel `version` into bazelisk's cache (see tfbuild.discovery.bazelisk_cache), registered
    for bazelisk's default download location, the mirror it came through and BAZELISK_BASE_URL,
    so that bazelisk runs it without downloading."""
    plat = bazelisk_cache.platform_key()
    pin = pins.bazel_release(version, plat)
    digest = (sha256 or pin.sha256 or "").lower()
    if not digest:
        raise ConfigError(f"tfbuild has no published sha256 for Bazel {version} ({plat})",
                          hint=f"pass --bazel-sha256 HEX: the sha256 published next to "
                          f"bazel-{version}-{plat} on https://github.com/bazelbuild/bazel/"
                          f"releases/tag/{version}")
    root = bazelisk_cache.home(env)
    found = bazelisk_cache.cached(version, env, plat)
    if found and not force:
        console.success(f"Bazel {version} is already in bazelisk's cache: {found}")
        return found
    m = settings.mirrors
    urls = candidates([pin.url], m.tf_mirror or DEFAULT_MIRROR, m.direct_hosts)
    base = bazelisk_cache.base_url(source_dir, env)
    if base:  # the mirror bazelisk itself is told to use (BAZELISK_BASE_URL), first
        urls = [f"{base[0].rstrip('/')}/{version}/{bazelisk_cache.file_name(version, plat)}",
                *urls]
        console.note(f"    BAZELISK_BASE_URL from {base[1]}: {base[0]}")
    tmp = root / "downloads" / "_tmp" / f"tfbuild-{bazelisk_cache.file_name(version, plat)}"
    console.step(f"bazel-install: Bazel {version} into bazelisk's cache {root}")
    bar = console.DownloadBar(f"bazel {version}", delay=0.0)
    start = time.monotonic()
    try:
        fetched = fetch(urls, tmp, digest, session=requests.Session(),
                        on_bytes=bar.advance, on_total=bar.add_total)
    except FetchError as exc:
        raise ToolMissingError(f"could not download Bazel {version}: {exc}",
                               hint="set mirrors.tf_mirror to a mirror that serves "
                               "github.com/bazelbuild/bazel/releases, or pass --bazel-sha256 for "
                               "another build of this version") from None
    finally:
        bar.close()
    target = bazelisk_cache.binary_path(root, digest)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(tmp, 0o755)
    os.replace(tmp, target)
    env_base = base[0] if base else None
    bases = [None, bazelisk_cache.release_base(fetched.url, version), env_base]
    for source in dict.fromkeys(bazelisk_cache.source_name(b) for b in bases):
        meta = bazelisk_cache.metadata_path(root, source, version, plat)
        meta.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(meta, digest)
    seconds = max(time.monotonic() - start, 1e-3)
    console.success(f"Bazel {version} from {fetched.url} -> {target} (sha256 verified, "
                    f"{fetched.bytes / 1e6:.1f} MB in {seconds:.1f} s)")
    mirror_base = bazelisk_cache.release_base(urls[0], version)
    if mirror_base != bazelisk_cache.release_base(pin.url, version):
        console.note(f"    bazelisk finds it as it is, or with BAZELISK_BASE_URL={mirror_base} "
                     "(the profile's mirror) for other versions")
    return target


def install(*, settings, url: str | None, sha256: str | None, force: bool,
            source_dir: Path | None = None, bazel_sha256: str | None = None) -> Path:
    """bazelisk (unless a Bazel is found), then the Bazel release it would download."""
    path = install_bazelisk(settings=settings, url=url, sha256=sha256, force=force)
    if not bazelisk_cache.is_bazelisk(str(path)):
        console.note(f"    {path} is not bazelisk: it downloads no Bazel, nothing more to install")
        return path
    tree = source_dir or paths.source_dir(settings)
    version = bazel_version(settings, tree)
    install_release(settings=settings, version=version, sha256=bazel_sha256, force=force,
                    env=dict(os.environ), source_dir=tree)
    return path


def bazel_install(profile_ref: str | None = None, *, overrides: Sequence[str] = (),
                  source: str | None = None, url: str | None = None, sha256: str | None = None,
                  bazel_sha256: str | None = None, force: bool = False) -> int:
    check_flags(url, sha256, bazel_sha256)
    settings = resolve(profile_ref, overrides=overrides).settings
    install(settings=settings, url=url, sha256=sha256, force=force,
            source_dir=paths.source_dir(settings, source), bazel_sha256=bazel_sha256)
    return 0
