"""Doctor's rows on whether the CUDA pieces fit TensorFlow and each other (pure): the profile's
CUDA and cuDNN versions against what the TF release builds with, the toolkit found, the
libcudart major, the CUDA build of cuDNN, and the NVIDIA driver against the CUDA version
(pins.toml: `cuda_majors`, `cudnn_majors`, `[cuda_drivers]`).

The notes: "2.18 uses CUDA 12 only". A CUDA 13 toolkit with a profile that says 13 agrees with
itself, so only these rows stop it before hours of build.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from tfbuild import pins, versions
from tfbuild.discovery.facts import CudaToolkit, Cudnn
from tfbuild.doctor.rows import FAIL, OK, WARN, Check, Context


def _major(version: str | None) -> int | None:
    match = re.match(r"(\d+)", version or "")
    return int(match.group(1)) if match else None


def _majors(values: Iterable[int], suffix: str = ".x") -> str:
    return " or ".join(f"{v}{suffix}" for v in values)


def check_tf_range(ctx: Context) -> Iterable[Check]:
    """The profile's cuda.version and cuda.cudnn_version against the TF release's majors."""
    cuda, tf = ctx.settings.cuda, ctx.tf
    expected = (f"CUDA {_majors(tf.cuda_majors)} and cuDNN {_majors(tf.cudnn_majors)} "
                f"(what TF {tf.version} builds with)")
    problems, fixes = [], []
    if _major(cuda.version) not in tf.cuda_majors:
        problems.append(f"CUDA {cuda.version}")
        fixes.append(f"set cuda.version to a CUDA {_majors(tf.cuda_majors)} release (e.g. "
                     f"{tf.bazelrc_cuda_version}) and install that toolkit")
    if _major(cuda.cudnn_version) not in tf.cudnn_majors:
        problems.append(f"cuDNN {cuda.cudnn_version}")
        fixes.append(f"set cuda.cudnn_version to a cuDNN {_majors(tf.cudnn_majors)} release "
                     f"(e.g. {tf.bazelrc_cudnn_version}) built for CUDA "
                     f"{_majors(tf.cuda_majors, '')}")
    if problems:
        yield Check("cuda.tf_range", FAIL, f"the profile names {' and '.join(problems)}",
                    expected, "; ".join(fixes), blocking=True)
    else:
        yield Check("cuda.tf_range", OK, f"CUDA {cuda.version}, cuDNN {cuda.cudnn_version}",
                    expected)


def toolkit_out_of_range(ctx: Context, tk: CudaToolkit) -> Check | None:
    """A FAIL row when the toolkit found is a CUDA major the TF release does not build with."""
    tf = ctx.tf
    if _major(tk.version) in tf.cuda_majors:
        return None
    return Check("cuda.toolkit", FAIL, f"CUDA {tk.version} at {tk.root} ({tk.version_source})",
                 f"CUDA {_majors(tf.cuda_majors)} (what TF {tf.version} builds with)",
                 f"install a CUDA {_majors(tf.cuda_majors)} toolkit (e.g. "
                 f"{tf.bazelrc_cuda_version}) and point cuda.local_cuda_path at it",
                 blocking=True)


def cudart_row(ctx: Context, tk: CudaToolkit) -> Check:
    """libcudart.so.N: its soname major must be the toolkit's (and one TF builds with)."""
    expected = "libcudart.so.<major>"
    match = re.search(r"libcudart\.so\.(\d+)", tk.cudart or "")
    if not match:
        return Check("cuda.cudart", FAIL, f"no libcudart.so.* under {tk.root}", expected,
                     "reinstall the CUDA toolkit (cuda_cudart) or fix cuda.local_cuda_path",
                     blocking=True)
    found, want = int(match.group(1)), _major(tk.version)
    wanted = [want] if want is not None else list(ctx.tf.cuda_majors)
    if found not in wanted or found not in ctx.tf.cuda_majors:
        return Check("cuda.cudart", FAIL, f"{tk.cudart} (CUDA {found})",
                     f"libcudart.so.{_majors(wanted, '')} (toolkit CUDA {tk.version}; TF "
                     f"{ctx.tf.version} builds with CUDA {_majors(ctx.tf.cuda_majors)})",
                     "the toolkit's lib directory holds another CUDA's runtime: reinstall the "
                     "toolkit, or point cuda.local_cuda_path at a whole CUDA "
                     f"{_majors(ctx.tf.cuda_majors)} install", blocking=True)
    return Check("cuda.cudart", OK, tk.cudart, expected)


def cudnn_build_row(ctx: Context, found: Cudnn) -> Check:
    """cuDNN's own CUDA build (cu12, _cuda12-archive, libcudnn9-cuda-12) against the CUDA."""
    want = _major(ctx.facts.cuda.version if ctx.facts.cuda else None) or _major(
        ctx.settings.cuda.version)
    expected = f"cuDNN built for CUDA {want}"
    if found.cuda_major is None:
        return Check("cudnn.cuda", WARN, f"nothing installed says which CUDA {found.root} "
                     "was built for", expected,
                     f"use NVIDIA's cuDNN for CUDA {want}: the cudnn-linux-x86_64-*_cuda{want}-"
                     f"archive tarball, nvidia-cudnn-cu{want}, or libcudnn9-cuda-{want}")
    if found.cuda_major != want or found.cuda_major not in ctx.tf.cuda_majors:
        return Check("cudnn.cuda", FAIL, f"built for CUDA {found.cuda_major} "
                     f"({found.cuda_major_source})", expected,
                     f"install cuDNN {ctx.settings.cuda.cudnn_version} for CUDA {want} and point "
                     "cuda.local_cudnn_path at it", blocking=True)
    return Check("cudnn.cuda", OK, f"built for CUDA {found.cuda_major} "
                 f"({found.cuda_major_source})", expected)


def _driver_version(text: str):
    return versions.version(text) if re.fullmatch(r"\d+(\.\d+)*", text.strip()) else None


def driver_rows(ctx: Context) -> Iterable[Check]:
    """Each GPU's driver (nvidia-smi) against what the profile's CUDA needs: minor version
    compatibility to run at all, the toolkit's own driver to JIT-compile its PTX."""
    need = pins.cuda_driver(ctx.settings.cuda.version)
    expected = (f"driver >= {need.compatible} to run CUDA {need.cuda} programs, >= {need.release} "
                f"to JIT-compile their PTX" if need.compatible and need.release else
                f"a driver for CUDA {need.cuda}")
    for gpu in ctx.facts.gpus.gpus:
        have = _driver_version(gpu.driver)
        where = f"{gpu.name}: driver {gpu.driver}"
        if not (need.compatible and need.release):
            yield Check("gpu.driver", WARN, where, expected,
                        f"tfbuild has no driver pin for CUDA {need.cuda} (pins.toml "
                        "[cuda_drivers]); check NVIDIA's release notes")
        elif have is None:
            yield Check("gpu.driver", WARN, where + " (not a version)", expected,
                        "check the NVIDIA driver: `nvidia-smi` should report its version")
        elif have < versions.version(need.compatible):
            yield Check("gpu.driver", FAIL, where, expected,
                        f"CUDA {need.cuda} programs fail with `CUDA driver version is "
                        f"insufficient`: install NVIDIA driver {need.release} or newer (building "
                        "works without it)")
        elif have < versions.version(need.release):
            yield Check("gpu.driver", WARN, where + " (minor version compatibility)", expected,
                        f"SASS for the listed sm_ runs, but PTX from CUDA {need.cuda} does not "
                        f"(CUDA_ERROR_UNSUPPORTED_PTX_VERSION on a GPU without SASS in "
                        f"cuda.compute_capabilities): install driver {need.release} or newer, or "
                        "list this GPU's sm_ in cuda.compute_capabilities")
        else:
            yield Check("gpu.driver", OK, where, expected)
