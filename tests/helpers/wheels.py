"""Small real wheels for the wheel-audit tests: a compiled module that needs shared libraries
from outside the wheel, as a CUDA build of TensorFlow does (libcudart.so.12 from a stub built
here and not on the loader path, libgomp.so.1 from gcc), tagged linux_x86_64 for this Python."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

STUB = "int cudaRuntimeGetVersion(int *v) { *v = 12040; return 0; }\n"
MODULE = ("#include <omp.h>\nint cudaRuntimeGetVersion(int *);\n"
          "int f(void) { int v; cudaRuntimeGetVersion(&v); return omp_get_max_threads() + v; }\n")


def linux_only_wheel(directory: Path) -> Path:
    tag = f"cp{sys.version_info.major}{sys.version_info.minor}"
    build = directory / "wheel-build"
    build.mkdir(parents=True)
    (build / "stub.c").write_text(STUB)
    (build / "m.c").write_text(MODULE)
    stub = build / "libcudart.so.12"
    subprocess.run(["gcc", "-shared", "-fPIC", "-Wl,-soname,libcudart.so.12", "-o", str(stub),
                    str(build / "stub.c")], check=True)
    module = build / "_m.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-fopenmp", "-o", str(module),
                    str(build / "m.c"), str(stub)], check=True)
    dist = "tensorflow-2.18.1.dist-info"
    files = {"tensorflow/__init__.py": b"", "tensorflow/_m.so": module.read_bytes(),
             f"{dist}/METADATA": b"Metadata-Version: 2.1\nName: tensorflow\nVersion: 2.18.1\n",
             f"{dist}/WHEEL": (f"Wheel-Version: 1.0\nGenerator: tfbuild-tests\nRoot-Is-Purelib: "
                               f"false\nTag: {tag}-{tag}-linux_x86_64\n").encode()}
    files[f"{dist}/RECORD"] = "".join(f"{n},,\n" for n in [*files, f"{dist}/RECORD"]).encode()
    wheel = directory / f"tensorflow-2.18.1-{tag}-{tag}-linux_x86_64.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return wheel
