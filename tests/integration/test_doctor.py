"""`invoke doctor` end to end over real tools: Debian's clang 16 (the profile wants 17), gcc-12,
lld, patchelf, Bazel, and CUDA 12.4 / cuDNN 9.10.2 files from NVIDIA's wheels."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

from tests.helpers.cli import INVOKE, ROOT, checks_by_id, doctor_json, invoke
from tests.helpers.trees import cudnn_tree
from tests.helpers.trees import runfile_cuda as runfile_cuda_tree


def profile(tmp_path: Path, text: str, name: str = "test.toml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def gpu_profile(tmp_path, cuda: Path, cudnn: Path, extra: str = "") -> str:
    return profile(tmp_path, f"""
extends = "cuda-local"
[toolchain]
python = "{sys.executable}"
[cuda]
local_cuda_path = "{cuda}"
local_cudnn_path = "{cudnn}"
compute_capabilities = ["sm_80"]
{extra}""")


def test_real_toolchain_and_cuda_files(tmp_path, runfile_cuda, local_cudnn, fake_nvidia_smi):
    code, doc = doctor_json(["--profile", gpu_profile(tmp_path, runfile_cuda, local_cudnn)],
                            env=fake_nvidia_smi)
    checks = checks_by_id(doc)
    assert code == 1  # clang 16 is not the 17 the profile wants
    assert set(doc) == {"tfbuild", "profile", "checks", "summary"}
    assert set(doc["checks"][0]) == {"id", "status", "found", "expected", "hint", "blocking"}
    assert checks["clang"]["status"] == "fail"
    assert "found 16, the profile wants 17" in checks["clang"]["found"]
    assert checks["clang.bazel_path"]["found"] == "/usr/lib/llvm-16/bin/clang"
    assert checks["clang.cxx"]["status"] == "ok"
    assert "/usr/include/c++/12" in checks["clang.include_dirs"]["found"]
    assert checks["lld"]["status"] == "ok" and "16." in checks["lld"]["found"]
    for tool in ("gcc", "g++", "patchelf", "python"):
        assert checks[tool]["status"] == "ok", checks[tool]
    # CUDA detected from the real ptxas of the runfile-layout tree
    assert checks["cuda.toolkit"]["status"] == "ok"
    assert "CUDA 12.4.131" in checks["cuda.toolkit"]["found"]
    assert "ptxas --version" in checks["cuda.toolkit"]["found"]
    assert checks["cuda.layout"]["status"] == "warn"
    assert "lib64/ only" in checks["cuda.layout"]["found"]
    assert checks["cuda.cudart"]["found"].endswith("lib64/libcudart.so.12")
    assert checks["cuda.cupti"]["found"].endswith("extras/CUPTI/include (runfile layout)")
    assert checks["cudnn"]["status"] == "ok" and "cuDNN 9.10.2" in checks["cudnn"]["found"]
    assert checks["gpu"]["found"].startswith("NVIDIA GeForce RTX 3050 Laptop GPU (compute 8.6")
    assert "runs sm_80; native is sm_86" in checks["gpu.capability"]["found"]
    assert "clang" in doc["summary"]["failed"]


def test_clang_17_accepted_when_the_profile_allows_16(tmp_path, runfile_cuda, local_cudnn):
    code, doc = doctor_json(["--profile", gpu_profile(tmp_path, runfile_cuda, local_cudnn),
                             "--set", "toolchain.clang_major=16"])
    assert checks_by_id(doc)["clang"]["status"] == "ok"


def test_capability_that_does_not_run_on_the_gpu(tmp_path, runfile_cuda, local_cudnn,
                                                   fake_nvidia_smi):
    code, doc = doctor_json(["--profile", gpu_profile(tmp_path, runfile_cuda, local_cudnn),
                             "--set", "cuda.compute_capabilities=sm_90"], env=fake_nvidia_smi)
    row = checks_by_id(doc)["gpu.capability"]
    assert code == 1 and row["status"] == "fail" and "add sm_86" in row["hint"]


def test_pip_installed_cuda_is_found(tmp_path, nvidia_site):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    site = next((env_dir / "lib").glob("python3*/site-packages"))
    (site / "nvidia").symlink_to(nvidia_site / "nvidia")
    for info in nvidia_site.glob("nvidia_cuda_nvcc_cu12-*.dist-info"):
        (site / info.name).symlink_to(info)
    path = profile(tmp_path, f"""
extends = "cuda-local"
[toolchain]
python = "{env_dir / 'bin' / 'python'}"
[cuda]
local_cuda_path = "{tmp_path / 'no-such-cuda'}"
local_cudnn_path = "{tmp_path / 'no-such-cudnn'}"
""")
    code, doc = doctor_json(["--profile", path])
    checks = checks_by_id(doc)
    assert checks["cuda.toolkit"]["status"] == "fail"
    assert f"{site}/nvidia (12.4.131, pip)" in checks["cuda.toolkit"]["found"]
    assert f"{site}/nvidia/cudnn (9.10.2)" in checks["cudnn"]["found"]


def test_bazel_wrapper_reports_missing_version(tmp_path):
    tree = tmp_path / "tf"
    tree.mkdir()
    (tree / ".bazelversion").write_text("6.5.0\n")
    (tree / "WORKSPACE").write_text("")
    code, doc = doctor_json(["--profile", "cpu", "--source", str(tree),
                             "--set", "toolchain.bazel=/usr/bin/bazel"])
    row = checks_by_id(doc)["bazel"]
    assert row["status"] == "fail" and row["blocking"]
    assert "requires Bazel 6.5.0" in row["found"]
    assert checks_by_id(doc)["source"]["status"] == "fail"  # not a TF tree


def test_debian_bazel_version_comes_from_dpkg():
    code, doc = doctor_json(["--profile", "cpu", "--set", "toolchain.bazel=/usr/bin/bazel-4",
                             "--set", "toolchain.bazel_version=4.2.3"])
    row = checks_by_id(doc)["bazel"]
    assert row["status"] == "ok" and row["found"] == "/usr/bin/bazel-4 (4.2.3)"


def test_table_output_is_plain_without_a_terminal():
    proc = invoke(["doctor", "--profile", "cpu", "--offline"], env={"TFBUILD_COLOR": None})
    assert proc.returncode in (0, 1)
    assert "\x1b[" not in proc.stdout
    assert "check" in proc.stdout and "clang.cxx" in proc.stdout


def test_table_output_is_coloured_with_tfbuild_color_1():
    proc = invoke(["doctor", "--profile", "cpu", "--offline"], env={"TFBUILD_COLOR": "1"})
    assert proc.returncode in (0, 1)
    assert "\x1b[" in proc.stdout and "clang.cxx" in proc.stdout


def test_table_output_is_coloured_on_a_terminal():
    """stdout on a pseudo-terminal, no TFBUILD_COLOR: what a user at a shell sees."""
    import pty

    main, child = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TFBUILD_")}
    env["TERM"] = "xterm-256color"
    proc = subprocess.Popen([INVOKE, "--search-root", str(ROOT), "doctor", "--profile", "cpu",
                             "--offline"], stdout=child, stderr=subprocess.DEVNULL, env=env)
    os.close(child)
    chunks = []
    while True:  # read until the child closes the terminal (EOF shows as EIO on Linux)
        try:
            chunk = os.read(main, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(main)
    assert proc.wait(timeout=120) in (0, 1)
    text = b"".join(chunks).decode(errors="replace")
    assert "\x1b[" in text and "clang.cxx" in text


# -- bad input: a clear message, a non-zero exit, never a traceback ---------------------------
def _bad(args, tmp_path=None, **kwargs):
    proc = invoke(args, **kwargs)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr + proc.stdout
    return proc


def test_unknown_profile(tmp_path):
    proc = _bad(["doctor", "--offline", "--profile", "rtx3500"])
    assert proc.returncode == 2
    assert "no profile named 'rtx3500' (did you mean 'rtx3050'?)" in proc.stderr


def test_malformed_toml_names_line_and_column(tmp_path):
    proc = _bad(["doctor", "--offline", "--profile", profile(tmp_path, "[cuda]\nversion = 12.4.0\n")])
    assert proc.returncode == 2 and "at line 2, column" in proc.stderr


def test_unknown_key(tmp_path):
    proc = _bad(["doctor", "--offline", "--profile", profile(tmp_path, "[cuda]\ncompute_capability = []\n")])
    assert "unknown key cuda.compute_capability (did you mean 'compute_capabilities'?)" in proc.stderr


def test_set_without_equals():
    proc = _bad(["doctor", "--offline", "--set", "build.jobs"])
    assert proc.returncode == 2 and "expected section.key=value" in proc.stderr


def test_bad_capabilities_and_versions_fail_with_fixes(tmp_path, runfile_cuda, local_cudnn):
    base = gpu_profile(tmp_path, runfile_cuda, local_cudnn)
    code, doc = doctor_json(["--profile", base, "--set", 'cuda.compute_capabilities=["sm_35"]'])
    row = checks_by_id(doc)["cuda.capabilities"]  # what this CUDA can target: a doctor check
    assert code == 1 and row["status"] == "fail" and "oldest is sm_50" in row["found"], row
    # Values of the wrong shape are refused on resolve (exit 2), before any check runs.
    for setting, fragment in (('cuda.compute_capabilities=["sm8"]', "needs two digits"),
                              ('cuda.compute_capabilities=["8.6.1"]', "not a version number"),
                              ("cuda.version=12.4", '"12.4.0"')):
        proc = invoke(["doctor", "--profile", base, "--set", setting])
        assert proc.returncode == 2 and "Traceback" not in proc.stderr
        assert setting.split("=")[0] in proc.stderr and fragment in proc.stderr, proc.stderr


def test_prefix_that_does_not_exist(tmp_path):
    code, doc = doctor_json(["--profile", "cpu", "--set",
                             f"toolchain.clang_prefix={tmp_path / 'nope'}"])
    row = checks_by_id(doc)["clang.prefix"]
    assert code == 1 and row["status"] == "fail" and "does not exist" in row["found"]


def test_profiles_list_and_show():
    proc = invoke(["profiles"])
    assert proc.returncode == 0
    for name in ("rtx3050", "a100", "h100", "rtx4090", "cpu"):
        assert name in proc.stdout
    proc = invoke(["profiles", "--show", "rtx3050"], env={"TFBUILD_BUILD_JOBS": "8"})
    assert proc.returncode == 0
    lines = {line.split("|")[1].strip(): line for line in proc.stdout.splitlines()
             if line.count("|") >= 3}
    assert "env: TFBUILD_BUILD_JOBS" in lines["build.jobs"]
    assert "profile: profiles/rtx3050.toml" in lines["cuda.local_cuda_path"]
    assert "profile: profiles/cuda-local.toml" in lines["cuda.cudnn_version"]


def fake_cudnn(root: Path, cudart_version: int) -> Path:
    """cuDNN 9.10.2's layout with a libcudnn.so.9 that answers cudnnGetCudartVersion() (the
    API of cudnn_graph.h: the CUDART_VERSION cuDNN was compiled against) as a build for another
    CUDA would; compiled here with gcc."""
    cudnn_tree(root, "9.10.2")
    source = root / "answer.c"
    source.write_text("#include <stddef.h>\nsize_t cudnnGetCudartVersion(void) "
                      f"{{ return {cudart_version}; }}\n")
    library = root / "lib" / "libcudnn.so.9"
    library.unlink()
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(library), str(source)], check=True)
    return root


def old_driver_smi(tmp_path: Path) -> dict[str, str]:
    smi = tmp_path / "bin" / "nvidia-smi"
    smi.parent.mkdir()
    smi.write_text("#!/bin/sh\necho 'NVIDIA GeForce RTX 3050 Laptop GPU, 8.6, 520.61.05'\n")
    smi.chmod(0o755)
    return {"PATH": f"{smi.parent}{os.pathsep}{os.environ['PATH']}"}


def test_a_cuda_13_toolkit_and_profile_are_refused_with_the_pinned_range(tmp_path):
    """The notes: 2.18 uses CUDA 12 only. A CUDA 13 toolkit named by a CUDA 13 profile agrees
    with itself; doctor refuses it (blocking), naming the range TF 2.18.1 builds with, and the
    cuDNN built for CUDA 13 too."""
    cuda = runfile_cuda_tree(tmp_path / "cuda13", "13.0.0")
    cudnn = fake_cudnn(tmp_path / "cudnn", 13000)
    code, doc = doctor_json(["--profile", gpu_profile(tmp_path, cuda, cudnn),
                             "--set", "cuda.version=13.0.0"], env=old_driver_smi(tmp_path))
    checks = checks_by_id(doc)
    assert code == 1
    for row_id in ("cuda.tf_range", "cuda.toolkit", "cuda.cudart", "cudnn.cuda"):
        assert checks[row_id]["status"] == "fail" and checks[row_id]["blocking"], checks[row_id]
        assert row_id in doc["summary"]["blocking"]
    assert "CUDA 12.x" in checks["cuda.tf_range"]["expected"]
    assert "TF 2.18.1" in checks["cuda.tf_range"]["expected"]
    assert checks["cuda.cudart"]["found"].endswith("libcudart.so.13 (CUDA 13)")
    assert checks["cudnn.cuda"]["found"] == "built for CUDA 13 (cudnnGetCudartVersion() = 13000)"
    assert checks["gpu.driver"]["status"] == "warn"  # no pin for CUDA 13: said, not guessed
    assert "no driver pin for CUDA 13.0" in checks["gpu.driver"]["hint"]


def test_a_cudnn_built_for_cuda_11_beside_cuda_12_blocks(tmp_path):
    """cuDNN's own answer names the CUDA it was built for; an old driver is named with what
    it breaks (not blocking: building needs no driver)."""
    cuda = runfile_cuda_tree(tmp_path / "cuda", "12.4.0")
    cudnn = fake_cudnn(tmp_path / "cudnn", 11080)
    code, doc = doctor_json(["--profile", gpu_profile(tmp_path, cuda, cudnn)],
                            env=old_driver_smi(tmp_path))
    checks = checks_by_id(doc)
    assert checks["cuda.tf_range"]["status"] == "ok"
    row = checks["cudnn.cuda"]
    assert row["status"] == "fail" and row["blocking"], row
    assert row["found"] == "built for CUDA 11 (cudnnGetCudartVersion() = 11080)"
    assert "cuda.local_cudnn_path" in row["hint"]
    driver = checks["gpu.driver"]
    assert driver["status"] == "fail" and not driver["blocking"], driver
    assert "CUDA driver version is insufficient" in driver["hint"] and "550.54.14" in driver["hint"]


def test_lld_is_the_one_clang_runs_not_a_versioned_name_on_the_shell_path(
        tmp_path, runfile_cuda, local_cudnn):
    """Issue 30 item 4: an LLVM install without bin/ld.lld (a clang copied alone into a
    prefix), and Debian's versioned ld.lld-16 on the shell's PATH. clang runs `ld.lld` by that
    name (`-print-prog-name=ld.lld` answers the bare name: not found), so doctor blocks the CUDA
    profile and names the versioned one; before, it took ld.lld-16 from the shell's PATH."""
    import shutil

    prefix = tmp_path / "llvm16"
    (prefix / "bin").mkdir(parents=True)
    shutil.copy2("/usr/lib/llvm-16/bin/clang", prefix / "bin" / "clang")
    shell_bin = tmp_path / "shell-bin"
    shell_bin.mkdir()
    (shell_bin / "ld.lld-16").symlink_to("/usr/lib/llvm-16/bin/ld.lld")
    code, doc = doctor_json(
        ["--profile", gpu_profile(tmp_path, runfile_cuda, local_cudnn),
         "--set", "toolchain.clang_major=16", "--set", f"toolchain.clang_prefix={prefix}"],
        env={"PATH": f"{shell_bin}:{os.environ['PATH']}"})
    row = checks_by_id(doc)["lld"]
    assert row["status"] == "fail" and row["blocking"], row
    assert "clang finds no ld.lld" in row["found"]
    assert str(shell_bin / "ld.lld-16") in row["found"]
    assert "build.action_path_dirs" in row["hint"] and "lld-16" in row["hint"]
    assert code == 1
