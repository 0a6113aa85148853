"""dist/<profile>/include/ from the real TensorFlow 2.18.1 wheel (PyPI's tensorflow-cpu): the
headers the compiler says the C API needs, and no more, are enough to compile the smoke test's
C program (the notes' model_run) — and the C++ headers the wheel also carries stay out."""

from __future__ import annotations

import subprocess

from tfbuild.building.c_headers import c_api_headers
from tfbuild.runner import Runner
from tfbuild.smoke.task import RESOURCES


def test_the_real_wheels_c_api_headers_compile_model_run(tf_wheel, tmp_path):
    headers, note = c_api_headers(tf_wheel, "gcc", Runner(echo=False))
    assert note == ""
    assert {"tensorflow/c/c_api.h", "tensorflow/c/eager/c_api.h", "tsl/platform/ctstring.h",
            "xla/tsl/c/tsl_status.h"} <= set(headers)
    assert all(name.endswith(".h") and not name.startswith(("Eigen", "absl", "google"))
               for name in headers), sorted(headers)
    assert len(headers) < 40  # the wheel carries thousands of headers; the C API needs few
    include = tmp_path / "include"
    for name, data in headers.items():
        (include / name).parent.mkdir(parents=True, exist_ok=True)
        (include / name).write_bytes(data)
    compiled = subprocess.run(["gcc", "-fsyntax-only", f"-I{include}",
                               str(RESOURCES / "model_run.c")], capture_output=True, text=True)
    assert compiled.returncode == 0, compiled.stderr
