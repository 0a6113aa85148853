"""`invoke patch` on the tests' TF-shaped workspace, proven with a real Bazel: the URL lists
tf_mirror_urls gives, the local CUDA libraries the hermetic rules find, idempotence, revert,
drift and user edits."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.helpers.bazel import bazel
from tests.helpers.cli import invoke

REPO_BZL = "third_party/xla/third_party/tsl/third_party/repo.bzl"
CUDA_BZL = "third_party/xla/third_party/tsl/third_party/gpus/cuda/hermetic/cuda_redist_init_repositories.bzl"
NVIDIA = ("https://developer.download.nvidia.com/compute/cuda/redist/cuda_cudart/linux-x86_64/"
          "cuda_cudart-linux-x86_64-12.4.127-archive.tar.xz")
GITHUB = "https://github.com/abseil/abseil-cpp/archive/refs/tags/20240116.0.tar.gz"


def write_profile(ws, body: str) -> str:
    path = ws["source"].parent / "profile.toml"
    path.write_text(f'extends = "cpu"\n[build]\noutput_user_root = "{ws["root"]}"\n{body}')
    return str(path)


def patch(ws, profile, *args):
    proc = invoke(["patch", "--profile", profile, "--source", str(ws["source"]), *args],
                  env=ws["env"])
    assert "Traceback" not in proc.stderr
    return proc


def built_json(ws, target: str, *args) -> dict:
    bazel(ws["source"], ws["root"], "build", f"//tensorflow:{target}", *args)
    return json.loads((ws["source"] / "bazel-bin" / "tensorflow" / f"{target}.json").read_text())


MIRRORED = '[mirrors]\ntf_mirror = "https://mirrors.example.cn/tensorflow/"\n'


def test_mirror_rule_as_bazel_sees_it_and_revert(tf_workspace):
    ws = tf_workspace
    before = (ws["source"] / REPO_BZL).read_bytes()
    default = built_json(ws, "mirror_probe")
    assert default["nvidia"][0].startswith("https://storage.googleapis.com/mirror.tensorflow.org/")
    profile = write_profile(ws, MIRRORED)
    proc = patch(ws, profile)
    assert proc.returncode == 0, proc.stderr
    seen = built_json(ws, "mirror_probe")  # the WORKSPACE's tf_http_archive accepts the mirror
    assert seen["nvidia"] == [NVIDIA]
    assert seen["github"] == ["https://mirrors.example.cn/tensorflow/" + GITHUB[8:], GITHUB]
    assert seen["plain_http"] == ["http://example.com/archive.tar.gz"]
    proc = patch(ws, profile, "--revert")
    assert proc.returncode == 0 and "restored" in proc.stdout
    assert (ws["source"] / REPO_BZL).read_bytes() == before
    assert built_json(ws, "mirror_probe") == default


def test_second_run_changes_nothing_and_check_says_applied(tf_workspace):
    ws = tf_workspace
    profile = write_profile(ws, MIRRORED)
    assert patch(ws, profile, "--check").returncode == 1
    assert patch(ws, profile).returncode == 0
    files = [ws["source"] / REPO_BZL, ws["source"] / "third_party/repo.bzl"]
    stamps = [f.stat().st_mtime_ns for f in files]
    contents = [f.read_bytes() for f in files]
    proc = patch(ws, profile)
    assert proc.returncode == 0
    assert [f.stat().st_mtime_ns for f in files] == stamps
    assert [f.read_bytes() for f in files] == contents
    proc = patch(ws, profile, "--check")
    assert proc.returncode == 0
    assert proc.stdout.count("| applied") == 2


def test_changed_mirror_is_reapplied(tf_workspace):
    ws = tf_workspace
    assert patch(ws, write_profile(ws, MIRRORED)).returncode == 0
    other = write_profile(ws, '[mirrors]\ntf_mirror = "https://mirror.example.org/tf"\n')
    assert "outdated" in patch(ws, other, "--check").stdout
    assert patch(ws, other).returncode == 0
    text = (ws["source"] / REPO_BZL).read_text()
    assert "mirror.example.org" in text and "mirrors.example.cn" not in text


def test_user_edits_are_reported_never_overwritten(tf_workspace):
    ws = tf_workspace
    profile = write_profile(ws, MIRRORED)
    assert patch(ws, profile).returncode == 0
    path = ws["source"] / REPO_BZL
    edited = path.read_text() + "\n# my own change\n"
    path.write_text(edited)
    proc = patch(ws, profile, "--check")
    assert proc.returncode == 5 and "edited" in proc.stdout
    proc = patch(ws, write_profile(ws, '[mirrors]\ntf_mirror = "https://other.example/tf"\n'))
    assert proc.returncode == 5 and "never overwrites" in proc.stderr
    proc = patch(ws, profile, "--revert")
    assert proc.returncode == 5 and "left as is" in proc.stderr
    assert path.read_text() == edited


def test_drift_names_file_anchor_and_version(tf_workspace):
    ws = tf_workspace
    path = ws["source"] / REPO_BZL
    path.write_text(path.read_text().replace("def tf_mirror_urls(url):", "def tf_mirror_urls(url, mirror = None):"))
    before = path.read_bytes()
    profile = write_profile(ws, MIRRORED)
    proc = patch(ws, profile, "--check")
    assert proc.returncode == 5
    assert "drifted" in proc.stdout and "route tf_mirror_urls" in proc.stdout
    assert "TF 2.18.1" in proc.stdout
    proc = patch(ws, profile)
    assert proc.returncode == 5 and REPO_BZL in proc.stderr
    assert path.read_bytes() == before


def test_hostile_mirror_is_refused(tf_workspace):
    ws = tf_workspace
    profile = write_profile(ws, '[mirrors]\ntf_mirror = "https://m.example/\\"]; fail(\\"x\\")"\n')
    proc = patch(ws, profile)
    assert proc.returncode == 2 and "mirrors.tf_mirror" in proc.stderr
    proc = patch(ws, write_profile(ws, '[mirrors]\ntf_mirror = "http://m.example/tf"\n'))
    assert proc.returncode == 2 and "allow_http" in proc.stderr


def cuda_profile(ws, cuda: Path, layout: str) -> str:
    return write_profile(ws, f"""[toolchain]
python = "{sys.executable}"
[cuda]
enabled = true
local_cuda_path = "{cuda}"
layout_fix = "{layout}"
""")


def test_runfile_cuda_is_found_after_the_patch(tf_workspace, runfile_cuda):
    ws = tf_workspace
    repo_env = f"--repo_env=LOCAL_CUDA_PATH={runfile_cuda}"
    broken = built_json(ws, "cuda_libs", repo_env)
    assert broken["cudart"]["library"] == "" and broken["cupti"]["header"] == ""
    profile = cuda_profile(ws, runfile_cuda, "patch")
    proc = patch(ws, profile)
    assert proc.returncode == 0, proc.stderr
    fixed = built_json(ws, "cuda_libs", repo_env)
    assert fixed["cudart"]["library"] == "lib/libcudart.so.12"
    assert fixed["cudart"]["header"] == "include/cuda_runtime_api.h"
    assert fixed["cupti"]["library"].startswith("lib/libcupti.so")
    assert fixed["cupti"]["header"] == "include/cupti.h"
    assert patch(ws, profile, "--revert").returncode == 0
    assert "tfbuild:cuda-lib64" not in (ws["source"] / CUDA_BZL).read_text()


def test_runfile_cuda_is_found_through_the_shim(tf_workspace, runfile_cuda):
    ws = tf_workspace
    profile = cuda_profile(ws, runfile_cuda, "shim")
    before = (ws["source"] / CUDA_BZL).read_bytes()
    proc = patch(ws, profile)
    assert proc.returncode == 0, proc.stderr
    shim = next(ws["state"].glob("*/cuda-shim"))
    assert (ws["source"] / CUDA_BZL).read_bytes() == before  # the tree is untouched
    fixed = built_json(ws, "cuda_libs", f"--repo_env=LOCAL_CUDA_PATH={shim}")
    assert fixed["cudart"]["library"] == "lib/libcudart.so.12"
    assert fixed["cupti"]["library"].startswith("lib/libcupti.so")
    assert fixed["cupti"]["header"] == "include/cupti.h"
    assert (shim / "lib" / "libcudart.so.12").resolve() == (runfile_cuda / "lib64" / "libcudart.so.12").resolve()
    mtime = shim.stat().st_mtime_ns
    assert patch(ws, profile).returncode == 0 and shim.stat().st_mtime_ns == mtime
    assert patch(ws, profile, "--revert").returncode == 0 and not shim.exists()
