"""Doctor's checks over facts written by hand (no machine involved)."""

import dataclasses

import pytest

from tests.helpers.facts import CUDA_ROOT, CUDNN_ROOT, healthy_facts
from tests.helpers.trees import cudnn_tree, runfile_cuda
from tfbuild.discovery import cuda as cuda_discovery
from tfbuild.discovery.facts import Bazel, Clang, Machine, Python, Tool
from tfbuild.doctor.checks import run_checks, summary
from tfbuild.errors import ConfigError
from tfbuild.runner import Runner
from tfbuild.settings import resolve


def rows(profile="rtx3050", overrides=(), **changes):
    settings = resolve(profile, env={}, overrides=overrides).settings
    return {r.id: r for r in run_checks(settings, healthy_facts(**changes))}


def test_healthy_machine_has_no_failures():
    result = rows()
    assert [r.id for r in result.values() if r.status != "ok"] == []
    assert "runs sm_80; native is sm_86" in result["gpu.capability"].found


def test_clang_16_found_when_17_wanted():
    r = rows(clang=Clang(path="/usr/bin/clang-16", bazel_path="/usr/lib/llvm-16/bin/clang",
                         version="16.0.6", compiles_cxx=True))["clang"]
    assert r.status == "fail"
    assert "found 16, the profile wants 17" in r.found
    assert "toolchain.clang_prefix" in r.hint and "toolchain.clang_major=16" in r.hint


def test_clang_path_not_ending_in_clang_blocks_cuda():
    r = rows(clang=dataclasses.replace(healthy_facts().clang, path="/opt/llvm/bin/clang-17",
                                       bazel_path=None))["clang.bazel_path"]
    assert r.blocks and "toolchain.clang_path" in r.hint


def test_no_clang_is_blocking_with_install_command():
    r = rows(clang=Clang())["clang"]
    assert r.blocks and "apt install clang-17 lld-17" in r.hint


@pytest.mark.parametrize("caps, fragment", [
    (["sm_35"], "cannot target it (its oldest is sm_50)"),
])
def test_bad_capabilities_block(caps, fragment):
    value = "[" + ",".join(f'"{c}"' for c in caps) + "]"
    r = rows(overrides=[f"cuda.compute_capabilities={value}"])["cuda.capabilities"]
    assert r.blocks and fragment in r.found and "cuda.compute_capabilities" in r.hint


def test_dotted_capability_is_normalised():
    r = rows(overrides=["cuda.compute_capabilities=8.6"])["cuda.capabilities"]
    assert r.status == "ok" and r.found.startswith("sm_86")


def test_capability_that_does_not_run_on_the_gpu_names_the_native_one():
    r = rows("h100", overrides=[f"cuda.local_cuda_path={CUDA_ROOT}",
                                f"cuda.local_cudnn_path={CUDNN_ROOT}"])["gpu.capability"]
    assert r.status == "fail" and "add sm_86" in r.hint


def test_two_part_cuda_version_is_refused_before_any_check_with_the_fix():
    with pytest.raises(ConfigError) as info:  # a value error: --force cannot accept it
        rows(overrides=["cuda.version=12.4"])
    assert "cuda.version" in info.value.message and "12.4.0" in info.value.hint


def test_cudnn_9_10_needs_a_local_path():
    r = rows(overrides=["cuda.local_cudnn_path="])["cudnn"]
    assert r.blocks
    assert "not a hermetic redistribution of TF 2.18.1" in r.found
    assert "cuda.local_cudnn_path" in r.hint


def test_runfile_layout_says_the_lib64_fix_is_needed():
    runfile = dataclasses.replace(healthy_facts().cuda, layout="runfile", has_lib=False)
    result = rows(cuda=runfile)
    assert result["cuda.layout"].status == "warn"
    assert "lib->lib64 fix is needed" in result["cuda.layout"].hint
    result = rows(cuda=runfile, overrides=["cuda.layout_fix=none"])
    assert result["cuda.layout"].blocks


def test_missing_local_cuda_names_alternatives():
    other = dataclasses.replace(healthy_facts().cuda, root="/usr/local/cuda-12.4")
    r = rows(cuda=None, cuda_candidates=(other,))["cuda.toolkit"]
    assert r.blocks and "/usr/local/cuda-12.4" in r.found


def test_wrong_ptxas_on_path():
    r = rows(path_ptxas=Tool("ptxas", "/usr/local/bin/ptxas", "13.0.88"))["cuda.ptxas"]
    assert r.status == "warn" and f"put {CUDA_ROOT}/bin first on PATH" in r.hint


def test_too_many_jobs_for_memory():
    small = Machine(cpu_count=16, mem_total_gib=16.0, mem_available_gib=15.0,
                    disk_path="/", disk_free_gib=10.0)
    result = rows(machine=small)
    # 15 GiB available - 6 GiB Bazel heap - 2 x (4 - 3) GiB link headroom = 7 GiB, 3 GiB per job
    assert result["machine.jobs"].status == "warn" and "build.jobs=2" in result["machine.jobs"].hint
    assert "15.0 GiB available - 6 GiB Bazel heap - 2 GiB link headroom" in result["machine.jobs"].found
    assert result["machine.disk"].status == "warn"


def test_bazel_version_from_tree():
    r = rows(bazel=Bazel("/usr/bin/bazel", "4.2.3", "dpkg"))["bazel"]
    assert r.blocks and "Bazel 6.5.0 (/src/tf/.bazelversion)" == r.expected


def test_python_out_of_range():
    r = rows(python=Python("/usr/bin/python3.13", "3.13.1"))["python"]
    assert r.blocks and "3.9, 3.10, 3.11, 3.12" in r.hint


def test_cpu_profile_skips_cuda():
    result = rows("cpu")
    assert result["cuda"].status == "skip"
    assert not any(k.startswith("cuda.") for k in result)
    assert summary(result.values())["fail"] == 0


def test_runfile_tree_is_recognised(tmp_path):
    root = runfile_cuda(tmp_path / "cuda")
    tk = cuda_discovery.inspect_cuda_root(Runner(echo=False), root)
    assert (tk.layout, tk.has_lib, tk.has_lib64, tk.version) == ("runfile", False, True, "12.4.0")
    assert tk.cudart.endswith("lib64/libcudart.so.12")
    assert tk.cupti_include.endswith("extras/CUPTI/include")
    cudnn = cuda_discovery.inspect_cudnn_root(cudnn_tree(tmp_path / "cudnn"))
    assert cudnn.version == "9.10.2" and cudnn.library.endswith("lib/libcudnn.so.9")
    assert cuda_discovery.inspect_cuda_root(Runner(), tmp_path / "nothing") is None


def test_missing_prefix_blocks():
    clang = dataclasses.replace(healthy_facts().clang, prefix_exists=False)
    r = rows(clang=clang)["clang.prefix"]
    assert r.blocks and "toolchain.clang_prefix" in r.hint


# -- the CUDA TF 2.18.1 can use (issue 31 item 2) ------------------------------------------------
def cuda13():
    base = healthy_facts()
    return dict(cuda=dataclasses.replace(base.cuda, version="13.0.0",
                                         cudart=f"{CUDA_ROOT}/lib/libcudart.so.13"),
                path_ptxas=Tool("ptxas", f"{CUDA_ROOT}/bin/ptxas", "13.0.48"))


def test_a_cuda_13_profile_and_toolkit_are_refused_with_the_pinned_range():
    result = rows(overrides=["cuda.version=13.0.0"], **cuda13())
    for row_id in ("cuda.tf_range", "cuda.toolkit", "cuda.cudart"):
        assert result[row_id].status == "fail" and result[row_id].blocks, result[row_id]
    assert "CUDA 13.0.0" in result["cuda.tf_range"].found
    assert "CUDA 12.x" in result["cuda.tf_range"].expected
    assert "TF 2.18.1" in result["cuda.tf_range"].expected
    assert "cuda.version" in result["cuda.tf_range"].hint
    assert "CUDA 12.x" in result["cuda.toolkit"].expected


def test_a_cudnn_8_profile_is_refused():
    r = rows(overrides=["cuda.cudnn_version=8.9.7"])["cuda.tf_range"]
    assert r.status == "fail" and r.blocks and "cuDNN 8.9.7" in r.found
    assert "cuda.cudnn_version" in r.hint and "cuDNN 9.x" in r.expected


def test_a_libcudart_of_another_major_in_the_toolkit_blocks():
    base = healthy_facts()
    r = rows(cuda=dataclasses.replace(base.cuda, cudart=f"{CUDA_ROOT}/lib/libcudart.so.11.0"))[
        "cuda.cudart"]
    assert r.status == "fail" and r.blocks and "CUDA 11" in r.found
    assert "libcudart.so.12" in r.expected


@pytest.mark.parametrize("major,source,status", [
    (12, "cudnnGetCudartVersion() = 12090", "ok"),
    (11, "archive: cudnn-linux-x86_64-9.10.2.21_cuda11-archive", "fail"),
    (None, "", "warn"),
])
def test_cudnn_built_for_another_cuda(major, source, status):
    base = healthy_facts()
    r = rows(cudnn=dataclasses.replace(base.cudnn, cuda_major=major, cuda_major_source=source))[
        "cudnn.cuda"]
    assert r.status == status, r
    assert r.blocks == (status == "fail")
    if major:
        assert f"built for CUDA {major} ({source})" == r.found


@pytest.mark.parametrize("driver,status,words", [
    ("550.54.14", "ok", ""),
    ("560.35.03", "ok", ""),
    ("535.104.05", "warn", "CUDA_ERROR_UNSUPPORTED_PTX_VERSION"),
    ("520.61.05", "fail", "CUDA driver version is insufficient"),
    ("n/a", "warn", "nvidia-smi"),
])
def test_the_driver_is_compared_with_the_profiles_cuda(driver, status, words):
    from tfbuild.discovery.facts import Gpu, Gpus

    r = rows(gpus=Gpus("/usr/bin/nvidia-smi", (Gpu("NVIDIA GeForce RTX 3050", "8.6", driver),)))[
        "gpu.driver"]
    assert r.status == status, r
    assert not r.blocks  # building needs no driver
    assert words in r.hint
    assert "525.60.13" in r.expected and "550.54.14" in r.expected


def test_cudnns_cuda_build_from_what_installed_it(tmp_path):
    """Without cuDNN's own answer (no runner here): pip's distribution name for
    <site>/nvidia/cudnn, NVIDIA's archive name for an unpacked tarball, else nothing."""
    site = tmp_path / "site-packages"
    pip_root = cudnn_tree(site / "nvidia" / "cudnn")
    (site / "nvidia_cudnn_cu12-9.10.2.21.dist-info").mkdir()
    archive = cudnn_tree(tmp_path / "cudnn-linux-x86_64-9.10.2.21_cuda11-archive")
    renamed = cudnn_tree(tmp_path / "instdir")
    assert cuda_discovery.inspect_cudnn_root(pip_root).cuda_major == 12
    assert cuda_discovery.inspect_cudnn_root(pip_root).cuda_major_source == \
        "pip: nvidia_cudnn_cu12-9.10.2.21"
    found = cuda_discovery.inspect_cudnn_root(archive)
    assert (found.cuda_major, found.cuda_major_source) == (
        11, "archive: cudnn-linux-x86_64-9.10.2.21_cuda11-archive")
    assert cuda_discovery.inspect_cudnn_root(renamed).cuda_major is None


def test_source_date_comes_from_the_profile_else_git_else_a_warning():
    from tfbuild.discovery.facts import Source

    from_git = rows()["source.date"]
    assert from_git.status == "ok" and "SOURCE_DATE_EPOCH=1741219200 (2025-03-06 00:00:00 UTC, " \
        "from git HEAD cb64295ec730)" in from_git.found
    pinned = rows(overrides=["tensorflow.source_date_epoch=1700000000"])["source.date"]
    assert "SOURCE_DATE_EPOCH=1700000000" in pinned.found
    assert "from tensorflow.source_date_epoch" in pinned.found
    tarball = rows(source=Source("/src/tf", True, True, "2.18.1", "6.5.0"))["source.date"]
    assert tarball.status == "warn" and "time of the build" in tarball.found
    assert "tensorflow.source_date_epoch" in tarball.hint
