"""What the image a build ran in holds, for the build manifest: the engine and image ID the host
asked the engine for (passed in as TFBUILD_CONTAINER_* variables), and the base image and
package list the image recorded about itself when it was built (docker/Dockerfile.j2)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

RECORD_DIR = Path("/usr/share/tfbuild")
ENV_ENGINE = "TFBUILD_CONTAINER_ENGINE"
ENV_IMAGE = "TFBUILD_CONTAINER_IMAGE"
ENV_IMAGE_ID = "TFBUILD_CONTAINER_IMAGE_ID"


def host_env(engine: str, image: str, image_id: str) -> dict[str, str]:
    return {ENV_ENGINE: engine, ENV_IMAGE: image, ENV_IMAGE_ID: image_id}


def parse_packages(text: str) -> dict[str, str]:
    """`dpkg-query -W -f '${Package}=${Version}\\n'` lines -> {package: version}."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        name, sep, version = line.strip().partition("=")
        if sep and name:
            out[name] = version
    return out


def section(env: Mapping[str, str] | None = None, record_dir: Path = RECORD_DIR) -> dict | None:
    """The manifest's `container` section; None outside a tfbuild image."""
    env = os.environ if env is None else env
    if ENV_IMAGE not in env:
        return None

    def read(name: str) -> str:
        try:
            return (record_dir / name).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    return {"engine": env.get(ENV_ENGINE, ""), "image": env.get(ENV_IMAGE, ""),
            "image_id": env.get(ENV_IMAGE_ID, ""),
            "base_image": read("base-image.txt").strip() or None,
            "packages": parse_packages(read("packages.txt"))}
