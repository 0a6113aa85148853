from __future__ import annotations

import os
from pathlib import Path

import pytest

ASSETS = Path(__file__).resolve().parents[2] / ".cache" / "test-assets"


@pytest.fixture(scope="session")
def nvidia_site() -> Path:
    """Real NVIDIA CUDA 12.4 / cuDNN 9.10.2 files from PyPI, laid out as pip installs them."""
    site = ASSETS / "nvidia-site"
    if not (site / "nvidia" / "cuda_nvcc" / "bin" / "ptxas").exists():
        pytest.fail("test assets missing: run `bash scripts/test.sh` (it fetches them)")
    return site


def link_tree(source: Path, target: Path) -> None:
    """Symlink every file of source into target (directories are created)."""
    for path in source.rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts and path.name != "__init__.py":
            dest = target / path.relative_to(source)
            dest.parent.mkdir(parents=True, exist_ok=True)
            if not dest.exists():
                dest.symlink_to(path)


@pytest.fixture(scope="session")
def runfile_cuda(nvidia_site, tmp_path_factory) -> Path:
    """A CUDA 12.4 tree in the runfile installer's layout (lib64 only, CUPTI in extras/),
    made of the real files from NVIDIA's wheels."""
    nv = nvidia_site / "nvidia"
    root = tmp_path_factory.mktemp("cuda1204") / "instdir"
    link_tree(nv / "cuda_runtime" / "include", root / "include")
    link_tree(nv / "cuda_nvcc" / "include", root / "include")
    link_tree(nv / "cuda_runtime" / "lib", root / "lib64")
    (root / "lib64" / "libcudart.so").symlink_to("libcudart.so.12")
    link_tree(nv / "cuda_nvcc" / "bin", root / "bin")
    link_tree(nv / "cuda_nvcc" / "nvvm", root / "nvvm")
    link_tree(nv / "cuda_cupti" / "include", root / "extras" / "CUPTI" / "include")
    link_tree(nv / "cuda_cupti" / "lib", root / "extras" / "CUPTI" / "lib64")
    return root


@pytest.fixture(scope="session")
def local_cudnn(nvidia_site, tmp_path_factory) -> Path:
    """cuDNN 9.10.2 as its tarball lays it out (include/, lib/), real header and library."""
    root = tmp_path_factory.mktemp("cudnn0910") / "instdir"
    link_tree(nvidia_site / "nvidia" / "cudnn", root)
    return root


@pytest.fixture
def fake_nvidia_smi(tmp_path) -> dict[str, str]:
    """PATH with an nvidia-smi that reports an RTX 3050 (this machine has no GPU)."""
    bindir = tmp_path / "fakebin"
    bindir.mkdir()
    script = bindir / "nvidia-smi"
    script.write_text("#!/bin/sh\necho 'NVIDIA GeForce RTX 3050 Laptop GPU, 8.6, 550.54.14'\n")
    script.chmod(0o755)
    return {"PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}


FIXTURE_WORKSPACE = Path(__file__).resolve().parents[1] / "fixtures" / "tfshaped"


@pytest.fixture
def tf_workspace(tmp_path, monkeypatch):
    """A fresh copy of the tests' TF-shaped workspace, its own Bazel output root and tfbuild
    state dir; the Bazel server is shut down afterwards."""
    import shutil

    from tests.helpers.bazel import shutdown

    workspace = tmp_path / "tensorflow"
    shutil.copytree(FIXTURE_WORKSPACE, workspace, symlinks=True)
    root = tmp_path / "bazel-root"
    state = tmp_path / "state"
    yield {"source": workspace, "root": root, "env": {"TFBUILD_STATE_DIR": str(state)},
           "state": state}
    shutdown(workspace, root)


@pytest.fixture(scope="session")
def tf_wheel() -> Path:
    """The real tensorflow-cpu 2.18.1 wheel from PyPI."""
    wheels = sorted((ASSETS / "tf-wheel").glob("tensorflow_cpu-2.18.1-*.whl"))
    if not wheels:
        pytest.fail("test assets missing: run `bash scripts/test.sh` (it fetches them)")
    return wheels[0]
