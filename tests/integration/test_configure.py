"""`invoke configure` against the tests' TF-shaped workspace, and a real Bazel proving that the
values the profile names are the ones TF's CUDA repository rules see."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.bazel import probe
from tests.helpers.cli import invoke, ROOT

RC = ".tf_configure.bazelrc"


def gpu_profile(tmp_path: Path, cuda: Path, cudnn: Path, extra: str = "") -> str:
    path = tmp_path / "gpu.toml"
    path.write_text(f"""
extends = "cuda-local"
[toolchain]
clang_major = 16
python = "{sys.executable}"
[cuda]
local_cuda_path = "{cuda}"
local_cudnn_path = "{cudnn}"
compute_capabilities = ["8.6", "compute_80"]
layout_fix = "patch"
{extra}""")
    return str(path)


def configure(ws: dict, *args: str):
    return invoke(["configure", "--source", str(ws["source"]), *args], env=ws["env"])


@pytest.fixture
def configured(tf_workspace, tmp_path, runfile_cuda, local_cudnn):
    profile = gpu_profile(tmp_path, runfile_cuda, local_cudnn)
    proc = configure(tf_workspace, "--profile", profile)
    assert proc.returncode == 0, proc.stderr
    return tf_workspace, profile, runfile_cuda, local_cudnn


@pytest.mark.parametrize("command_line", [[], ["--config=cuda_wheel"], ["--config=cuda"],
                                          ["--config=cuda_clang"]])
def test_bazel_sees_the_profile_values(configured, command_line):
    ws, _, cuda, cudnn = configured
    seen = probe(ws["source"], ws["root"], *command_line)
    assert seen["HERMETIC_CUDA_COMPUTE_CAPABILITIES"] == "sm_86,compute_80"
    assert seen["HERMETIC_CUDA_VERSION"] == "12.4.0"
    assert seen["HERMETIC_CUDNN_VERSION"] == "9.10.2"
    assert seen["LOCAL_CUDA_PATH"] == str(cuda)
    assert seen["LOCAL_CUDNN_PATH"] == str(cudnn)
    assert seen["LD_LIBRARY_PATH"].split(":") == [f"{cuda}/lib64", f"{cuda}/extras/CUPTI/lib64",
                                                  f"{cudnn}/lib"]
    assert seen["CLANG_CUDA_COMPILER_PATH"] == "/usr/lib/llvm-16/bin/clang"
    assert seen["HERMETIC_PYTHON_VERSION"] == "%d.%d" % sys.version_info[:2]
    assert seen["TF_NEED_CUDA"] == "1"


def test_a_configure_py_style_file_loses_to_tf_cuda_clang(tf_workspace):
    """The pitfall the rendering avoids, shown with the same Bazel and workspace."""
    (tf_workspace["source"] / RC).write_text(
        'build:cuda --repo_env HERMETIC_CUDA_COMPUTE_CAPABILITIES="sm_86"\n'
        "build --config=cuda_clang\n")
    seen = probe(tf_workspace["source"], tf_workspace["root"])
    assert seen["HERMETIC_CUDA_COMPUTE_CAPABILITIES"] == "sm_60,sm_70,sm_80,sm_89,compute_90"


def test_second_run_rewrites_nothing(configured):
    ws, profile, _, _ = configured
    rc = ws["source"] / RC
    before, mtime = rc.read_bytes(), rc.stat().st_mtime_ns
    proc = configure(ws, "--profile", profile)
    assert proc.returncode == 0 and "unchanged" in proc.stdout
    assert rc.read_bytes() == before and rc.stat().st_mtime_ns == mtime
    env_json = next(ws["state"].glob("*/environment.json"))
    assert '"TF_ENABLE_ONEDNN_OPTS": "0"' in env_json.read_text()
    assert "--xla_gpu_cuda_data_dir=" in env_json.read_text()


def test_foreign_and_edited_files_are_backed_up(configured):
    ws, profile, _, _ = configured
    rc = ws["source"] / RC
    rc.write_text(rc.read_text() + "build --jobs=3\n")
    proc = configure(ws, "--profile", profile)
    assert proc.returncode == 0
    backups = list(ws["state"].glob("*/backups/.tf_configure.bazelrc.*.bak"))
    assert len(backups) == 1 and backups[0].read_text().endswith("build --jobs=3\n")
    assert str(backups[0]) in proc.stderr
    assert "build --jobs=3" not in rc.read_text()


def test_dry_run_prints_a_diff_and_writes_nothing(configured):
    ws, profile, _, _ = configured
    rc = ws["source"] / RC
    before = rc.read_bytes()
    proc = configure(ws, "--profile", profile, "--dry-run", "--set",
                     "cuda.compute_capabilities=sm_89")
    assert proc.returncode == 0
    assert '-build:cuda --repo_env HERMETIC_CUDA_COMPUTE_CAPABILITIES="sm_86,compute_80"' in proc.stdout
    assert '+build:cuda --repo_env HERMETIC_CUDA_COMPUTE_CAPABILITIES="sm_89"' in proc.stdout
    assert rc.read_bytes() == before


def test_blocking_checks_refuse_and_force_overrides(tf_workspace, tmp_path, runfile_cuda,
                                                    local_cudnn):
    profile = gpu_profile(tmp_path, runfile_cuda, local_cudnn)
    proc = configure(tf_workspace, "--profile", profile, "--set", "cuda.compute_capabilities=sm_35")
    assert proc.returncode == 3
    assert "cuda.capabilities" in proc.stderr and "oldest is sm_50" in proc.stderr
    assert "--force" in proc.stderr
    assert not (tf_workspace["source"] / RC).exists()
    proc = configure(tf_workspace, "--profile", profile, "--set", "cuda.local_cudnn_path=")
    assert proc.returncode == 3 and "not a hermetic redistribution" in proc.stderr
    proc = configure(tf_workspace, "--profile", profile, "--set", "cuda.local_cuda_path=cuda")
    assert proc.returncode == 2 and "is relative" in proc.stderr  # a value error, not the machine
    proc = configure(tf_workspace, "--profile", profile, "--set",
                     "cuda.compute_capabilities=sm_35", "--force")
    assert proc.returncode == 0 and "sm_35" in (tf_workspace["source"] / RC).read_text()


@pytest.mark.parametrize("value", ['/opt/nccl"\nbuild --config=evil', '/opt/nc"cl',
                                   '/opt/nccl\\" --repo_env=X=1'])
def test_hostile_profile_values_are_refused(tf_workspace, tmp_path, runfile_cuda, local_cudnn,
                                            value):
    profile = gpu_profile(tmp_path, runfile_cuda, local_cudnn,
                          extra=f"local_nccl_path = {json.dumps(value)}")
    proc = configure(tf_workspace, "--profile", profile, "--force")
    assert proc.returncode == 2, proc.stderr
    assert "cuda.local_nccl_path" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tf_workspace["source"] / RC).exists()


def test_not_a_tensorflow_tree(tmp_path):
    proc = invoke(["configure", "--profile", "cpu", "--source", str(tmp_path)])
    assert proc.returncode == 3 and "is not a TensorFlow source tree" in proc.stderr


def test_cpu_profile_renders_a_valid_cpu_only_file(tf_workspace):
    proc = configure(tf_workspace, "--profile", "cpu", "--set", "toolchain.clang_major=16",
                     "--set", f"toolchain.python={sys.executable}")
    assert proc.returncode == 0, proc.stderr
    text = (tf_workspace["source"] / RC).read_text()
    assert "build:cuda" not in text and "--config=cuda_clang" not in text
    assert 'build --action_env CLANG_COMPILER_PATH="/usr/lib/llvm-16/bin/clang"' in text
    seen = probe(tf_workspace["source"], tf_workspace["root"])  # Bazel accepts the file
    assert seen["TF_NEED_CUDA"] == "" and seen["HERMETIC_CUDA_COMPUTE_CAPABILITIES"] == ""


@pytest.mark.skipif(not shutil.which("setpriv"), reason="needs setpriv (util-linux)")
def test_read_only_source_leaves_nothing_behind(tmp_path):
    """As an unprivileged user (root could write anyway), a read-only tree fails cleanly."""
    base = Path(subprocess.run(["mktemp", "-d", "/tmp/tfbuild-ro.XXXXXX"], capture_output=True,
                               text=True, check=True).stdout.strip())
    try:
        source = base / "tensorflow"
        shutil.copytree(ROOT / "tests" / "fixtures" / "tfshaped", source)
        state = base / "state"
        state.mkdir()
        os.chmod(base, 0o755)
        os.chmod(state, 0o777)
        for path in [source, *source.rglob("*")]:
            os.chmod(path, 0o555 if path.is_dir() else 0o444)
        argv = [str(Path(sys.executable).parent / "invoke"), "--search-root", str(ROOT),
                "configure", "--profile", "cpu", "--source", str(source), "--force"]
        if os.geteuid() == 0:
            argv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *argv]
        env = {"PATH": os.environ["PATH"], "HOME": str(state), "TFBUILD_STATE_DIR": str(state),
               "TFBUILD_COLOR": "0"}
        proc = subprocess.run(argv, cwd=state, env=env, capture_output=True, text=True)
        assert proc.returncode == 3, proc.stderr
        assert "is not writable" in proc.stderr and "Traceback" not in proc.stderr
        assert sorted(p.name for p in source.iterdir()) == sorted(
            p.name for p in (ROOT / "tests" / "fixtures" / "tfshaped").iterdir())
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(base)], check=False)
        shutil.rmtree(base, ignore_errors=True)
