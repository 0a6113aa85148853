"""The container build environment: every rendered Dockerfile passes hadolint; without a Docker
engine the commands say so (--dry-run shows what would run); the image's toolchain check,
rendered from a profile, passes on a machine with those versions and names a mismatch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.cli import ROOT, invoke
from tests.integration.conftest import ASSETS, link_tree
from tfbuild.container.task import render_verify_script
from tfbuild.container.plan import plan
from tfbuild.settings import resolve

GOLDEN = ROOT / "tests" / "golden" / "docker"
HADOLINT = str(Path(sys.executable).parent / "hadolint")


@pytest.mark.parametrize("dockerfile", sorted(GOLDEN.glob("*.Dockerfile")), ids=lambda p: p.stem)
def test_hadolint_passes(dockerfile):
    proc = subprocess.run([HADOLINT, "--config", str(ROOT / "docker" / ".hadolint.yaml"),
                           str(dockerfile)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_docker_build_without_an_engine(tmp_path):
    """The profile asks for Docker and no daemon answers (DOCKER_HOST names a socket nobody
    listens on): the engine and the fix are named, the Dockerfile is rendered all the same."""
    env = {"XDG_CACHE_HOME": str(tmp_path), "DOCKER_HOST": f"unix://{tmp_path}/no-daemon.sock"}
    proc = invoke(["docker-build", "--profile", "a100", "--set", "docker.uid=1234",
                   "--set", "docker.engine=docker"], env=env)
    assert proc.returncode == 3 and "Traceback" not in proc.stderr
    assert "the container engine docker does not answer" in proc.stderr
    assert "dockerd" in proc.stderr and "docker.engine" in proc.stderr  # the fix
    dockerfile = tmp_path / "tfbuild" / "docker" / "a100" / "Dockerfile"
    assert "\nUSER 1234\n" in dockerfile.read_text()  # rendered from the profile all the same
    proc = invoke(["docker-build", "--profile", "a100", "--dry-run"], env=env)
    assert proc.returncode == 0
    # auto: each engine's command, with its own flags
    assert f"docker build --network=host --tag tfbuild/a100 {dockerfile.parent}" in proc.stdout
    assert (f"podman build --format docker --network=host --tag tfbuild/a100 "
            f"{dockerfile.parent}") in proc.stdout


def test_build_in_docker_dry_run_mounts_the_tree(tmp_path):
    proc = invoke(["build", "--profile", "rtx3050", "--in-docker", "--dry-run", "--source",
                   str(tmp_path), "--jobs", "4", "--set", "build.jobs=2",
                   "--set", f"build.dist_dir={tmp_path / 'dist'}"],
                  env={"XDG_CACHE_HOME": str(tmp_path / "cache"),
                       "TFBUILD_STATE_DIR": str(tmp_path / "state")})
    assert proc.returncode == 0, proc.stderr
    line = next(l for l in proc.stdout.splitlines() if l.startswith("docker run"))
    assert "--rm" not in line.split()  # the exit status is asked of the engine
    # tree, dist/ and state at their host paths: the same patch records as a host build
    for path in (tmp_path, tmp_path / "dist", tmp_path / "state"):
        assert f"--volume {path}:{path} " in line
    assert f"--volume {ROOT}:/opt/tfbuild:ro" in line and "--gpus all" in line
    assert f"--user {os.getuid()}:{os.getgid()}" in line
    assert "--set build.jobs=2" in line and "--set cuda.local_cuda_path=/usr/local/cuda-12.4" in line
    assert line.endswith("--jobs 4 --bazel-opt=--experimental_convenience_symlinks=ignore")
    proc = invoke(["build", "--profile", "rtx3050", "--in-docker", "--dry-run", "--source",
                   str(tmp_path), "--set", "docker.engine=podman"],
                  env={"XDG_CACHE_HOME": str(tmp_path / "cache")})
    line = next(l for l in proc.stdout.splitlines() if l.startswith("podman run"))
    assert "--device nvidia.com/gpu=all" in line and "--gpus" not in line  # podman's CDI


@pytest.fixture(scope="module")
def redist_cuda(nvidia_site, tmp_path_factory) -> Path:
    """CUDA 12.4 laid out as NVIDIA's redistributable archives unpack (lib/), real files."""
    nv = nvidia_site / "nvidia"
    root = tmp_path_factory.mktemp("redist") / "cuda-12.4"
    link_tree(nv / "cuda_runtime" / "include", root / "include")
    link_tree(nv / "cuda_runtime" / "lib", root / "lib")
    link_tree(nv / "cuda_nvcc" / "bin", root / "bin")
    return root


def _verify(tmp_path, redist_cuda, local_cudnn, python: str):
    settings = resolve("a100", env={}, overrides=["toolchain.clang_major=16",
                                                   f"docker.python={python}"]).settings
    script = tmp_path / "verify-toolchain.sh"
    script.write_text(render_verify_script(plan(settings, "a100")))
    script.chmod(0o755)
    env = {**os.environ, "CLANG": "/usr/lib/llvm-16/bin/clang", "LLD": "/usr/lib/llvm-16/bin/ld.lld",
           "PYTHON": sys.executable, "BAZELISK": str(ASSETS / "bazelisk" / "bazelisk-linux_amd64"),
           "CUDA": str(redist_cuda), "CUDNN": str(local_cudnn)}
    return subprocess.run([str(script)], env=env, capture_output=True, text=True)


def test_toolchain_check_passes_when_versions_match(tmp_path, redist_cuda, local_cudnn):
    proc = _verify(tmp_path, redist_cuda, local_cudnn, "%d.%d" % sys.version_info[:2])
    assert proc.returncode == 0, proc.stdout
    for line in ("ok   clang major: 16", "ok   gcc major: 12", "ok   CUDA (ptxas release): 12.4",
                 "ok   cuDNN: 9.10.2", "ok   bazelisk sha256: fd8fdff4"):
        assert line in proc.stdout


def test_toolchain_check_names_a_mismatch(tmp_path, redist_cuda, local_cudnn):
    proc = _verify(tmp_path, redist_cuda, local_cudnn, "3.10")
    assert proc.returncode == 1
    assert f"FAIL python: wanted 3.10, found {sys.version_info[0]}.{sys.version_info[1]}" in proc.stdout


def _repack_as_wheel(site: Path, component: str, out: Path) -> Path:
    """NVIDIA's wheel for one component again (the test assets keep it installed): its
    nvidia/<component>/ files, modes kept, in a zip as pip downloaded it."""
    import zipfile

    wheel = out / f"nvidia_{component}_cu12-12.4.127-py3-none-manylinux2014_x86_64.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted((site / "nvidia" / component).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                info = zipfile.ZipInfo(str(path.relative_to(site)))
                info.external_attr = (path.stat().st_mode & 0o777) << 16
                archive.writestr(info, path.read_bytes())
    return wheel


def test_cuda_from_nvidias_pypi_wheels_gives_a_toolkit_the_check_accepts(
        tmp_path, nvidia_site, local_cudnn):
    """docker.cuda_from = "pypi": the image's installer lays NVIDIA's real CUDA 12.4 wheels
    (nvcc with ptxas and libdevice, the runtime, CUPTI) out as one toolkit prefix, with the
    redistributable archives' lib/ layout; the image's toolchain check accepts it."""
    wheels = [_repack_as_wheel(nvidia_site, c, tmp_path)
              for c in ("cuda_nvcc", "cuda_runtime", "cuda_cupti")]
    prefix = tmp_path / "cuda-12.4"
    proc = subprocess.run([sys.executable, str(ROOT / "docker" / "install_cuda_wheels.py"),
                           "--prefix", str(prefix), *map(str, wheels)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert (prefix / "bin" / "ptxas").stat().st_mode & 0o111
    assert (prefix / "lib" / "libcudart.so.12").is_file()
    assert os.readlink(prefix / "lib" / "libcudart.so") == "libcudart.so.12"
    assert list((prefix / "nvvm" / "libdevice").glob("libdevice*.bc"))
    assert (prefix / "include" / "cuda_runtime_api.h").is_file()
    check = _verify(tmp_path, prefix, local_cudnn, "%d.%d" % sys.version_info[:2])
    assert "ok   CUDA (ptxas release): 12.4" in check.stdout, check.stdout
    assert "ok   CUDA lib/libcudart.so.12: present" in check.stdout
    # not a CUDA wheel: a clear refusal
    other = tmp_path / "other.whl"
    import zipfile
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("six.py", "")
    proc = subprocess.run([sys.executable, str(ROOT / "docker" / "install_cuda_wheels.py"),
                           "--prefix", str(tmp_path / "p2"), str(other)],
                          capture_output=True, text=True)
    assert proc.returncode == 1 and "not an NVIDIA CUDA wheel" in proc.stderr
