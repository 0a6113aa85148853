from array import array
from pathlib import Path

import pytest

from tfbuild.smoke import checks

LOG = Path(__file__).resolve().parents[1] / "fixtures" / "tf_logs" / "gpu-libraries-missing.log"


def test_compare_within_tolerance_and_argmax():
    python = array("f", [0.1, 0.9, 0.8, 0.2])
    same = checks.compare(python, array("f", [0.1, 0.9 + 1e-7, 0.8, 0.2]), classes=2)
    assert same.ok and same.argmax_agree == 2 and same.count == 2
    drift = checks.compare(python, array("f", [0.1, 0.9, 0.2, 0.8]), classes=2)
    assert not drift.ok and drift.argmax_agree == 1 and abs(drift.max_abs_diff - 0.6) < 1e-6


def test_failed_gpu_libraries_from_tensorflow_log():
    failed = checks.failed_gpu_libraries(LOG.read_text().splitlines())
    assert failed[0].startswith("libcudnn.so.9 (libcudnn.so.9: cannot open shared object file")
    assert failed[1].startswith("libcupti.so.12")
    assert checks.failed_gpu_libraries(["I0000 all fine"]) == []


def test_wheel_tags():
    supported = ["cp311-cp311-manylinux_2_36_x86_64", "cp311-cp311-manylinux_2_17_x86_64",
                 "py3-none-any"]
    ok, _ = checks.wheel_fits(Path("tensorflow_cpu-2.18.1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"), supported)
    assert ok
    ok, why = checks.wheel_fits(Path("tensorflow-2.18.1-cp312-cp312-manylinux_2_17_x86_64.whl"), supported)
    assert not ok and "cp312-cp312-manylinux_2_17_x86_64" in why
    ok, why = checks.wheel_fits(Path("tensorflow-2.18.1-cp311-cp311-macosx_12_0_arm64.whl"), supported)
    assert not ok and "macosx" in why
    ok, why = checks.wheel_fits(Path("not-a-wheel.zip"), supported)
    assert not ok and "not a wheel file name" in why
    assert checks.distribution(Path("tensorflow-2.18.1-py3-none-any.whl")) == ("tensorflow", "2.18.1")


MAPS = """\
55d0c0a00000-55d0c0a01000 r--p 00000000 08:01 1234 /tmp/w/model_run
7f0000000000-7f0000100000 r-xp 00000000 08:01 11 /dist/cpu/libtensorflow.so.2
7f0000100000-7f0000200000 r--p 00100000 08:01 11 /dist/cpu/libtensorflow.so.2
7f0000200000-7f0000300000 r-xp 00000000 08:01 12 /dist/cpu/libtensorflow_framework.so.2
7f0000300000-7f0000400000 r-xp 00000000 08:01 13 /usr/lib/x86_64-linux-gnu/libc.so.6
7f0000400000-7f0000401000 rw-p 00000000 00:00 0 [heap]
7f0000500000-7f0000600000 r-xp 00000000 08:01 14 /opt/cudnn/lib/libcudnn.so.9
7f0000700000-7f0000701000 rw-p 00000000 00:00 0
"""


def test_mapped_paths_unique_in_order():
    assert checks.mapped_paths(MAPS.splitlines()) == [
        "/tmp/w/model_run", "/dist/cpu/libtensorflow.so.2", "/dist/cpu/libtensorflow_framework.so.2",
        "/usr/lib/x86_64-linux-gnu/libc.so.6", "/opt/cudnn/lib/libcudnn.so.9"]


def test_c_api_library_prefers_a_built_libtensorflow_over_the_wheels():
    built = checks.Loaded("/dist/cpu/libtensorflow.so.2", "/dist/cpu/libtensorflow.so.2.18.1")
    wheel = checks.Loaded("/venv/site/tensorflow/libtensorflow_cc.so.2",
                          "/venv/site/tensorflow/libtensorflow_cc.so.2")
    framework = checks.Loaded("/dist/cpu/libtensorflow_framework.so.2",
                              "/dist/cpu/libtensorflow_framework.so.2")
    libc = checks.Loaded("/usr/lib/libc.so.6", "/usr/lib/libc.so.6")
    assert checks.c_api_library([libc, framework, built]) == built
    assert checks.c_api_library([libc, framework, wheel]) == wheel
    assert checks.c_api_library([libc, framework]) is None
    assert checks.tracked([libc, framework, wheel]) == [framework, wheel]


def test_cuda_mismatch_names_both_versions():
    cudnn93 = checks.Loaded("/venv/lib/libcudnn.so.9", "/venv/lib/libcudnn.so.9.3.0")
    cudnn910 = checks.Loaded("/opt/cudnn/lib/libcudnn.so.9", "/opt/cudnn/lib/libcudnn.so.9.10.2")
    cudart = checks.Loaded("/cuda/lib64/libcudart.so.12", "/cuda/lib64/libcudart.so.12.5.82")
    unversioned = checks.Loaded("/site/nvidia/cudnn/lib/libcudnn.so.9",
                                "/site/nvidia/cudnn/lib/libcudnn.so.9")
    assert checks.cuda_mismatches([cudnn910, unversioned], cuda="12.4.0", cudnn="9.10.2") == []
    problems = checks.cuda_mismatches([cudnn93, cudart], cuda="12.4.0", cudnn="9.10.2")
    assert problems == [
        "cuDNN 9.3.0 loaded from /venv/lib/libcudnn.so.9.3.0, the profile's is 9.10.2",
        "CUDA runtime 12.5.82 loaded from /cuda/lib64/libcudart.so.12.5.82, the profile's is 12.4.0"]
    # TF's own complaint (xla/stream_executor/cuda/cuda_dnn.cc), as the issue quotes it
    log = ["E0000 cuda_dnn.cc:522] Loaded runtime CuDNN library: 9.3.0 but source was compiled "
           "with: 9.10.2.  CuDNN library needs to have matching major version"]
    assert checks.cuda_mismatches([], cuda="12.4.0", cudnn="9.10.2", log=log) == [
        "TensorFlow loaded cuDNN 9.3.0 but was compiled with 9.10.2"]


def test_nvidia_pip_packages_are_found():
    installed = {"numpy": "2.0.2", "nvidia-cudnn-cu12": "9.3.0.75",
                 "nvidia-cuda-runtime-cu12": "12.5.82", "tensorflow-cpu": "2.18.1"}
    assert checks.nvidia_distributions(installed) == {"nvidia-cuda-runtime-cu12": "12.5.82",
                                                      "nvidia-cudnn-cu12": "9.3.0.75"}
    assert checks.nvidia_distributions({"numpy": "2.0.2"}) == {}


def test_the_c_librarys_version_is_read_from_the_programs_first_line():
    from tfbuild.smoke.checks import c_tf_version

    assert c_tf_version("TF_Version: 2.18.1\nrest\n") == "2.18.1"
    assert c_tf_version("no version here\n") is None


@pytest.mark.parametrize("c,python,problem", [
    ("2.18.1", "2.18.1", None),
    ("2.17.9", "2.18.1", "the C library is TensorFlow 2.17.9 but Python imported TensorFlow 2.18.1"),
    ("2.17.9", "2.17.9", "the C library is TensorFlow 2.17.9, the profile builds TensorFlow 2.18.1"),
    (None, "2.18.1", "did not print TF_Version()"),
])
def test_versions_must_agree_with_python_and_the_profile(c, python, problem):
    from tfbuild.smoke.checks import version_disagreement

    found = version_disagreement(c=c, python=python, profile="2.18.1")
    assert (found is None) if problem is None else (problem in found)


@pytest.mark.parametrize("line,fix_words", [
    ("cudaGetDevice() failed. Status: CUDA driver version is insufficient for CUDA runtime "
     "version", "gpu.driver"),
    ("INTERNAL: Failed to load in-memory CUBIN: CUDA_ERROR_UNSUPPORTED_PTX_VERSION: the provided "
     "PTX was compiled with an unsupported toolchain.", "cuda.compute_capabilities"),
    ("ptxas fatal   : Unsupported .version 8.5; current version is '8.4'", "first on PATH"),
    ("ImportError: libfoo.so: undefined symbol: _ZNSt3__122__libcpp_verbose_abortEPKcz",
     "toolchain.clang_prefix"),
    ("W gpu_backend_lib.cc:102] Can't find libdevice directory ${CUDA_DIR}/nvvm/libdevice",
     "xla_gpu_cuda_data_dir"),
])
def test_a_failed_steps_output_is_diagnosed_with_its_fix(line, fix_words):
    from tfbuild.smoke.task import _failed

    error = _failed("import tensorflow failed (exit 1)", f"some output\n{line}\n")
    assert "diagnosis:" in str(error) and fix_words in str(error)
    assert fix_words in error.hint


@pytest.mark.parametrize("text, expected", [
    ("import collections\nbuild_info = collections.OrderedDict([('is_cuda_build', False), "
     "('is_rocm_build', False)])\n", {"is_cuda_build": False, "is_rocm_build": False}),
    ("build_info = {'is_cuda_build': True, 'cuda_version': '12.4'}\n",
     {"is_cuda_build": True, "cuda_version": "12.4"}),
    ("build_info = make_it()\n", None),  # not a literal: never run
    ("this is not python(\n", None),
])
def test_the_wheels_build_info_is_read_as_a_literal(tmp_path, text, expected):
    import zipfile

    wheel = tmp_path / "tensorflow-2.18.1-cp311-cp311-linux_x86_64.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(checks.BUILD_INFO, text)
    assert checks.wheel_build_info(wheel) == expected
    bare = tmp_path / "bare.whl"
    with zipfile.ZipFile(bare, "w") as archive:
        archive.writestr("tensorflow/__init__.py", "")
    assert checks.wheel_build_info(bare) is None
