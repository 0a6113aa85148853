"""The container recipe, rendered from profiles (pure)."""

import pytest

from tests.helpers.golden import check_golden
from tfbuild.container.task import render_dockerfile, render_verify_script
from tfbuild.container.plan import container_overrides, plan
from tfbuild.errors import ConfigError
from tfbuild.settings import available_profiles, resolve


# A profile that leaves the base image's digest to its user (cpu-trixie) is rendered with one.
PINNED = "registry.example:5000/debian:trixie@sha256:" + "ab" * 32


@pytest.mark.parametrize("profile", sorted(available_profiles({})))
def test_golden_dockerfile_and_verify_script_per_profile(profile):
    settings = resolve(profile, env={}).settings
    if "@" not in settings.docker.base_image:
        settings = resolve(profile, env={}, overrides=[f"docker.base_image={PINNED}"]).settings
    p = plan(settings, profile)
    check_golden(f"docker/{profile}.Dockerfile", render_dockerfile(p))
    check_golden(f"docker/{profile}.verify-toolchain.sh", render_verify_script(p))


def test_pins_come_from_the_profile():
    p = plan(resolve("rtx3050", env={}, overrides=["toolchain.clang_major=18",
                                                    "docker.python=3.11"]).settings, "rtx3050")
    text = render_dockerfile(p)
    assert "clang-18 lld-18" in text and "llvm-toolchain-jammy-18" in text
    assert "python3.11 python3.11-venv" in text
    assert "nvidia-cudnn-cu12==9.10.2.21 --hash=sha256:" in text
    assert "--prefix /usr/local/cuda-12.4" in text
    assert 'expect "clang major" "18"' in render_verify_script(p)
    assert "FROM ubuntu:22.04@sha256:" in text and "\nUSER 1000\n" in text


def test_cpu_image_has_no_cuda():
    text = render_dockerfile(plan(resolve("cpu", env={}).settings, "cpu"))
    assert "cuda" not in text.lower().replace("cuda-12", "")
    assert "cudnn" not in text


@pytest.mark.parametrize("override, message", [
    ("docker.base_image=ubuntu:22.04", "not pinned by digest"),
    ("cuda.version=12.6.0", "no pinned NVIDIA redistrib JSON for CUDA 12.6.0"),
    ("cuda.cudnn_version=9.3.0", "no pinned cuDNN wheel"),
    ("docker.python=3", "not x.y"),
])
def test_bad_image_settings(override, message):
    with pytest.raises(ConfigError, match=message):
        plan(resolve("a100", env={}, overrides=[override]).settings, "a100")


def test_inside_the_image_the_profile_points_at_the_image_paths():
    values = container_overrides(plan(resolve("rtx3050", env={}).settings, "rtx3050"))
    assert "cuda.local_cuda_path=/usr/local/cuda-12.4" in values
    assert "cuda.layout_fix=none" in values and "toolchain.clang_prefix=" in values
