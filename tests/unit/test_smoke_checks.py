from array import array
from pathlib import Path

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
