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
compute_capabilities = ["sm_86"]
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


def shim_profile(ws, cuda: Path, cudnn: Path, layout: str = "shim") -> str:
    path = ws["source"].parent / f"gpu-{layout}.toml"
    path.write_text(f"""extends = "cuda-local"
[toolchain]
clang_major = 16
python = "{sys.executable}"
[cuda]
local_cuda_path = "{cuda}"
local_cudnn_path = "{cudnn}"
compute_capabilities = ["sm_86"]
layout_fix = "{layout}"
[build]
output_user_root = "{ws["root"]}"
""")
    return str(path)


def configure(ws, profile):
    proc = invoke(["configure", "--profile", profile, "--source", str(ws["source"])],
                  env=ws["env"])
    assert "Traceback" not in proc.stderr
    return proc


def plain_build(ws) -> dict:
    """`bazel build` with no option at all: only what .bazelrc and .tf_configure.bazelrc say."""
    return built_json(ws, "cuda_libs")


def test_configure_alone_makes_a_runfile_cuda_buildable(tf_workspace, runfile_cuda, local_cudnn):
    """Issue 12, case 1: the rc names the shim, so configure makes it; a plain bazel build of a
    target reading the CUDA repositories finds lib/libcudart on a lib64-only CUDA."""
    ws = tf_workspace
    before = (ws["source"] / CUDA_BZL).read_bytes()
    proc = configure(ws, shim_profile(ws, runfile_cuda, local_cudnn))
    assert proc.returncode == 0, proc.stderr
    shim = next(ws["state"].glob("*/cuda-shim-*"))
    assert f'LOCAL_CUDA_PATH="{shim}"' in (ws["source"] / ".tf_configure.bazelrc").read_text()
    assert (ws["source"] / CUDA_BZL).read_bytes() == before  # the tree is untouched
    seen = plain_build(ws)
    assert seen["cudart"]["library"] == "lib/libcudart.so.12"
    assert seen["cupti"]["library"].startswith("lib/libcupti.so")
    assert seen["cupti"]["header"] == "include/cupti.h"
    assert (shim / "lib" / "libcudart.so.12").resolve() == (runfile_cuda / "lib64" / "libcudart.so.12").resolve()


def test_patch_revert_leaves_the_shim_the_rc_names(tf_workspace, runfile_cuda, local_cudnn):
    """Issue 12, case 2: patch, then patch --revert, and the tree still builds."""
    ws = tf_workspace
    profile = shim_profile(ws, runfile_cuda, local_cudnn)
    assert configure(ws, profile).returncode == 0
    shim = next(ws["state"].glob("*/cuda-shim-*"))
    mtime = shim.stat().st_mtime_ns
    assert patch(ws, profile).returncode == 0
    proc = patch(ws, profile, "--revert")
    assert proc.returncode == 0, proc.stderr
    assert shim.is_dir() and shim.stat().st_mtime_ns == mtime
    check = patch(ws, profile, "--check")  # the mirror fix is reverted; the shim is not
    shim_rows = [line for line in check.stdout.splitlines() if "| cuda-shim" in line]
    assert shim_rows and "| applied" in shim_rows[0], check.stdout
    assert "missing" not in check.stdout
    assert plain_build(ws)["cudart"]["library"] == "lib/libcudart.so.12"


def test_a_missing_local_path_is_reported_and_configure_restores_it(tf_workspace, runfile_cuda,
                                                                   local_cudnn):
    import shutil

    from tests.helpers.cli import doctor_json, checks_by_id

    ws = tf_workspace
    profile = shim_profile(ws, runfile_cuda, local_cudnn)
    assert configure(ws, profile).returncode == 0
    assert patch(ws, profile).returncode == 0
    assert patch(ws, profile, "--check").returncode == 0
    shim = next(ws["state"].glob("*/cuda-shim-*"))
    shutil.rmtree(shim)
    proc = patch(ws, profile, "--check")
    assert proc.returncode == 1
    assert "LOCAL_CUDA_PATH" in proc.stdout and "missing" in proc.stdout
    assert "invoke configure" in proc.stderr
    _, doc = doctor_json(["--profile", profile, "--source", str(ws["source"]), "--offline"],
                         env=ws["env"])
    row = checks_by_id(doc)["configure.paths"]
    assert row["status"] == "fail" and str(shim) in row["found"]
    assert configure(ws, profile).returncode == 0 and shim.is_dir()
    assert patch(ws, profile, "--check").returncode == 0


def test_configure_removes_the_shim_once_the_rc_stops_naming_it(tf_workspace, runfile_cuda,
                                                               local_cudnn):
    ws = tf_workspace
    assert configure(ws, shim_profile(ws, runfile_cuda, local_cudnn)).returncode == 0
    shim = next(ws["state"].glob("*/cuda-shim-*"))
    proc = configure(ws, shim_profile(ws, runfile_cuda, local_cudnn, layout="patch"))
    assert proc.returncode == 0, proc.stderr
    assert not shim.exists()
    assert str(shim) not in (ws["source"] / ".tf_configure.bazelrc").read_text()


# -- when the profile stops asking for a fix ------------------------------------------------------
TF_DEFAULTS = ('[mirrors]\ntf_mirror = "https://storage.googleapis.com/mirror.tensorflow.org"\n'
               'direct_hosts = []\n')


def check_rows(proc) -> dict[str, set[str]]:
    """{status: {fix ids}} from the --check table (| fix | file | status | detail |)."""
    rows: dict[str, set[str]] = {}
    for line in proc.stdout.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == 4 and cells[0] and cells[0] != "fix":
            rows.setdefault(cells[2], set()).add(cells[0])
    return rows


def test_check_reports_unwanted_and_not_applicable_and_patch_restores(tf_workspace):
    ws = tf_workspace
    before = (ws["source"] / REPO_BZL).read_bytes()
    assert patch(ws, write_profile(ws, MIRRORED)).returncode == 0
    assert (ws["source"] / REPO_BZL).read_bytes() != before
    stopped = write_profile(ws, TF_DEFAULTS)  # the profile no longer asks for the mirror fix
    proc = patch(ws, stopped, "--check")
    assert proc.returncode == 1, proc.stdout  # something to do: undo the unwanted fix
    rows = check_rows(proc)
    assert "download-mirror" in rows.get("unwanted", set()), proc.stdout
    assert {"cuda-lib64", "pip-mirror"} <= rows.get("not-applicable", set()), proc.stdout
    proc = patch(ws, stopped)
    assert proc.returncode == 0, proc.stderr
    assert (ws["source"] / REPO_BZL).read_bytes() == before  # restored byte for byte
    proc = patch(ws, stopped, "--check")
    assert proc.returncode == 0 and "download-mirror" in check_rows(proc).get("not-applicable", set())


def test_revert_restores_a_fix_the_profile_stopped_asking_for(tf_workspace):
    ws = tf_workspace
    before = (ws["source"] / REPO_BZL).read_bytes()
    assert patch(ws, write_profile(ws, MIRRORED)).returncode == 0
    proc = patch(ws, write_profile(ws, TF_DEFAULTS), "--revert")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "restored" in proc.stdout and (ws["source"] / REPO_BZL).read_bytes() == before


def test_another_toolkit_of_the_same_version_reruns_the_cuda_repositories(tf_workspace,
                                                                          runfile_cuda,
                                                                          local_cudnn, tmp_path):
    """Issue 20 item 5: the shim's path follows the toolkit, so LOCAL_CUDA_PATH (a repository
    input) changes with it and Bazel re-runs @cuda_*; before, the same path left what the rules
    generated from the first toolkit's files in place until `clean --expunge`."""
    import shutil

    ws = tf_workspace
    other = tmp_path / "cuda1204-b" / "instdir"  # CUDA 12.4 too, another install of it
    shutil.copytree(runfile_cuda, other, symlinks=True)
    (other / "lib64" / "libcudart_b_only.so.12").write_bytes(b"only in the second toolkit")
    assert configure(ws, shim_profile(ws, runfile_cuda, local_cudnn)).returncode == 0
    first = plain_build(ws)
    assert "libcudart_b_only.so.12" not in first["cudart"]["lib_entries"]
    shims = list(ws["state"].glob("*/cuda-shim-*"))
    assert configure(ws, shim_profile(ws, other, local_cudnn)).returncode == 0
    second = plain_build(ws)
    assert "libcudart_b_only.so.12" in second["cudart"]["lib_entries"]
    (shim,) = list(ws["state"].glob("*/cuda-shim-*"))  # the first toolkit's shim is gone
    assert shim not in shims
    assert f'LOCAL_CUDA_PATH="{shim}"' in (ws["source"] / ".tf_configure.bazelrc").read_text()
    assert configure(ws, shim_profile(ws, other, local_cudnn)).returncode == 0
    assert list(ws["state"].glob("*/cuda-shim-*")) == [shim]  # the same toolkit, the same path
