"""Doctor's checks: pure functions of (Settings, Facts) -> Check rows.

Each row says what was found, what the profile expects, and for anything not ok the exact fix.
`blocking` rows stop configure and build when they fail (unless --force).
"""

from __future__ import annotations

import dataclasses
import os
import re
import time
from collections.abc import Iterable

from tfbuild import capabilities, sizing, versions
from tfbuild.building.command import host_toolchain_paths
from tfbuild.configure.plan import source_date
from tfbuild.discovery.facts import ContainerEngine, CudaToolkit, Facts
from tfbuild.discovery.toolchain import uninstall_line
from tfbuild.doctor import cache_key_check, cuda_compat
from tfbuild.doctor.rows import (FAIL, OK, SKIP, WARN, Check,  # noqa: F401
                                 CheckFn, Context)
from tfbuild.settings.model import Settings


# -- python and compilers ------------------------------------------------------------------------
def check_python(ctx: Context) -> Iterable[Check]:
    py = ctx.facts.python
    supported = ctx.tf.python
    expected = f"Python {supported[0]}-{supported[-1]} (TF {ctx.tf.version})"
    wanted = ctx.settings.toolchain.python_version
    if not py.path or not py.version:
        yield Check("python", FAIL, f"not found ({py.path or 'python3 not on PATH'})", expected,
                    "install Python 3.9-3.12 or set toolchain.python to its path", blocking=True)
        return
    mm = versions.major_minor(py.version)
    if mm not in supported and wanted in supported:
        # TF builds with the hermetic interpreter HERMETIC_PYTHON_VERSION names (rules_python
        # downloads it); this one runs configure.py and tfbuild's probes only
        yield Check("python", WARN, f"{py.path} ({py.version}); the build uses the hermetic "
                    f"Python {wanted} (toolchain.python_version)", expected,
                    "rules_python downloads that interpreter from GitHub (python-build-standalone):"
                    " mirror it with mirrors.host_mirrors, or set toolchain.python to a local "
                    f"Python {wanted}")
    elif mm not in supported:
        yield Check("python", FAIL, f"{py.path} ({py.version})", expected,
                    f"TF {ctx.tf.version} has lock files for {', '.join(supported)} only: set "
                    "toolchain.python to a supported interpreter", blocking=True)
    elif wanted and wanted not in supported:
        yield Check("python", FAIL, f"{py.path} ({py.version}); toolchain.python_version={wanted}",
                    expected, f"set toolchain.python_version to one of {', '.join(supported)}",
                    blocking=True)
    else:
        yield Check("python", OK, f"{py.path} ({py.version})", expected)
    if ctx.cuda_on and py.nvidia_packages:
        listed = ", ".join(f"{name} {version}" for name, version in py.nvidia_packages)
        yield Check("python.nvidia_packages", WARN, f"{py.path} holds {listed}",
                    f"no NVIDIA pip packages (TensorFlow would load their CUDA/cuDNN before the "
                    f"profile's CUDA {ctx.settings.cuda.version} / cuDNN "
                    f"{ctx.settings.cuda.cudnn_version})",
                    f"remove them: {uninstall_line(py.path, py.nvidia_packages)} "
                    "(`invoke install` refuses while they are there, unless --keep-nvidia)")


def check_clang(ctx: Context) -> Iterable[Check]:
    clang, tc = ctx.facts.clang, ctx.settings.toolchain
    expected = f"clang {tc.clang_major}" + (f" (prefix {tc.clang_prefix})" if tc.clang_prefix else "")
    if tc.clang_prefix and not clang.prefix_exists:
        yield Check("clang.prefix", FAIL, f"{tc.clang_prefix} does not exist", "an LLVM install",
                    "fix toolchain.clang_prefix (the directory that holds bin/clang), or set it "
                    "to \"\" to search PATH and /usr/lib/llvm-*", blocking=True)
    if not clang.path:
        yield Check("clang", FAIL, f"toolchain.clang_path: {tc.clang_path} is not an executable "
                    "clang" if tc.clang_path else "not found", expected,
                    f"install clang {tc.clang_major} and lld (apt install clang-{tc.clang_major} "
                    f"lld-{tc.clang_major}, or unpack the LLVM {tc.clang_major} release and set "
                    "toolchain.clang_prefix)", blocking=True)
        return
    found = f"{clang.path} ({clang.version or 'version unknown'})"
    if clang.major != tc.clang_major:
        others = ", ".join(f"{p} ({v})" for p, v in clang.candidates if p != clang.path)
        yield Check("clang", FAIL, f"found {clang.major}, the profile wants {tc.clang_major}: "
                    f"{found}" + (f"; also {others}" if others else ""), expected,
                    f"install clang {tc.clang_major} and set toolchain.clang_prefix or "
                    f"toolchain.clang_path; or accept this one with "
                    f"--set toolchain.clang_major={clang.major} (untested by TF {ctx.tf.version})")
    else:
        yield Check("clang", OK, found, expected)
    if clang.bazel_path:
        yield Check("clang.bazel_path", OK, clang.bazel_path, "a path ending in `clang`")
    else:
        yield Check("clang.bazel_path", FAIL, clang.path, "a path ending in `clang`",
                    "TF's CUDA rules treat a compiler not named `clang` as not-clang: set "
                    f"toolchain.clang_path to a `clang` path, e.g. /usr/lib/llvm-{tc.clang_major}/bin/clang",
                    blocking=ctx.cuda_on)
    yield from _check_clang_cxx(ctx)


def _check_clang_cxx(ctx: Context) -> Iterable[Check]:
    clang, tc = ctx.facts.clang, ctx.settings.toolchain
    gcc_note = f"GCC installation {clang.gcc_installation}" if clang.gcc_installation else \
        "no GCC installation selected"
    if clang.compiles_cxx:
        yield Check("clang.cxx", OK, f"compiles <memory>; {gcc_note}",
                    "`clang test.cpp` with #include <memory> compiles")
    else:
        yield Check("clang.cxx", FAIL, f"cannot compile <memory>: {clang.compile_error[-300:]}",
                    "`clang test.cpp` with #include <memory> compiles",
                    f"install g++-{tc.gcc_major} (the LLVM release uses its libstdc++ headers: "
                    f"apt install gcc-{tc.gcc_major} g++-{tc.gcc_major}); see "
                    f"`{clang.path} -E -xc++ - -v` for the include dirs", blocking=True)
    dirs = ", ".join(clang.include_dirs) or "none reported"
    yield Check("clang.include_dirs", OK if clang.include_dirs else WARN, dirs,
                "C++ include dirs of the selected GCC",
                "" if clang.include_dirs else "run `clang -E -xc++ - -v` and check the search list")
    if clang.libcxx_runtime_dir:
        on_path = clang.libcxx_runtime_dir in ctx.facts.ld_library_path
        yield Check("clang.libcxx", OK, f"{clang.libcxx_runtime_dir}"
                    + (" (on LD_LIBRARY_PATH)" if on_path else
                       " (configure adds it to the recorded LD_LIBRARY_PATH)"),
                    "libc++ runtime dir on LD_LIBRARY_PATH")
    elif tc.clang_prefix:
        yield Check("clang.libcxx", WARN, f"no {tc.clang_prefix}/lib/x86_64-unknown-linux-gnu/libc++.so*",
                    "libc++ runtime dir on LD_LIBRARY_PATH",
                    "if TF fails with `undefined symbol: _ZNSt3__122__libcpp_verbose_abortEPKcz`, add "
                    "the LLVM install's libc++ dir to LD_LIBRARY_PATH")


def check_linkers_and_tools(ctx: Context) -> Iterable[Check]:
    facts, tc = ctx.facts, ctx.settings.toolchain
    if facts.lld.path:
        yield Check("lld", OK, f"{facts.lld.path} ({facts.lld.version})", "ld.lld (-fuse-ld=lld)")
    else:
        found = "clang finds no ld.lld" + (f"; {facts.lld.detail}" if facts.lld.detail else "")
        fix = (f"TF's cuda_clang config links with lld, which clang runs as `ld.lld` from its own "
               f"directory or the actions' PATH: apt install lld-{tc.clang_major} (it puts "
               f"ld.lld beside Debian's clang), or use an LLVM release that ships bin/ld.lld")
        if facts.lld.detail:
            fix += (", or link it as ld.lld into a directory of build.action_path_dirs "
                    "(a versioned name such as ld.lld-17 is not looked for)")
        yield Check("lld", FAIL if ctx.cuda_on else WARN, found, "ld.lld (-fuse-ld=lld)", fix,
                    blocking=ctx.cuda_on)
    for tool in (facts.gcc, facts.gxx):
        expected = f"{tool.name}"
        if not tool.path:
            yield Check(tool.name.split("-")[0], FAIL, "not found", expected,
                        f"apt install gcc-{tc.gcc_major} g++-{tc.gcc_major} (the LLVM "
                        f"{tc.clang_major} Ubuntu release depends on them)")
        elif versions.version(tool.version) and versions.version(tool.version).major != tc.gcc_major:
            yield Check(tool.name.split("-")[0], WARN, f"{tool.path} ({tool.version})", expected,
                        f"apt install gcc-{tc.gcc_major} g++-{tc.gcc_major}")
        else:
            yield Check(tool.name.split("-")[0], OK, f"{tool.path} ({tool.version})", expected)
    yield check_action_tool(ctx, "patchelf", facts.patchelf, facts.patchelf_elsewhere)


WHEEL_TARGET = "//tensorflow/tools/pip_package:wheel"


def check_action_tool(ctx: Context, name: str, tool, elsewhere: str | None) -> Check:
    """A program the build's actions run from PATH (TF's wheel step runs patchelf), looked up
    in the PATH the actions see (paths.action_path_dirs), not the shell's: a tool only the
    shell has fails the last action, hours in. Blocking when the wheel is built."""
    expected = f"{name} on the actions' PATH (the wheel step runs it)"
    if tool.path:
        return Check(name, OK, f"{tool.path} ({tool.version})", expected)
    blocking = WHEEL_TARGET in ctx.settings.build.targets
    if elsewhere:
        directory = os.path.dirname(elsewhere)
        return Check(name, FAIL, f"not on the PATH Bazel's actions see; found at {elsewhere} on "
                     "your shell's PATH only", expected,
                     f"add {directory} to build.action_path_dirs (e.g. --set "
                     f"'build.action_path_dirs=[\"{directory}\"]'), or install it system-wide "
                     f"(apt install {name})", blocking=blocking)
    return Check(name, FAIL, "not found", expected, f"apt install {name}, or add its directory "
                 "to build.action_path_dirs", blocking=blocking)


def check_bazel(ctx: Context) -> Iterable[Check]:
    bazel, tc = ctx.facts.bazel, ctx.settings.toolchain
    source = ctx.facts.source
    if tc.bazel_version != "from-source":
        wanted, origin = tc.bazel_version, "toolchain.bazel_version"
    elif source and source.bazelversion:
        wanted, origin = source.bazelversion, f"{source.path}/.bazelversion"
    else:
        wanted, origin = ctx.tf.bazel, f"TF {ctx.tf.version} pins"
    expected = f"Bazel {wanted} ({origin})"
    if not bazel.path:
        yield Check("bazel", FAIL, f"toolchain.bazel: {tc.bazel} is not an executable Bazel"
                    if tc.bazel else "neither bazelisk nor bazel on PATH", expected,
                    "run `invoke bazel-install` (a pinned bazelisk, which reads .bazelversion), "
                    "or set toolchain.bazel", blocking=True)
    elif bazel.needs_download:
        yield Check("bazel", FAIL, f"{bazel.path}: {bazel.error}", expected,
                    f"run `invoke bazel-install`: it downloads Bazel {bazel.needs_download} once, "
                    "with a progress bar, verified by sha256, into bazelisk's cache",
                    blocking=True)
    elif bazel.error:
        yield Check("bazel", FAIL, f"{bazel.path}: {bazel.error}", expected,
                    f"install Bazel {wanted} (bazelisk fetches it), or set toolchain.bazel to a "
                    f"Bazel {wanted} binary", blocking=True)
    elif bazel.version != wanted:
        yield Check("bazel", FAIL, f"{bazel.path} ({bazel.version}, from {bazel.version_source})",
                    expected, f"use Bazel {wanted}: install bazelisk, or set toolchain.bazel; "
                    f"to accept {bazel.version} set toolchain.bazel_version={bazel.version}",
                    blocking=True)
    else:
        yield Check("bazel", OK, f"{bazel.path} ({bazel.version})", expected)


# -- CUDA ----------------------------------------------------------------------------------------
def _candidates_hint(toolkits: Iterable[CudaToolkit], key: str) -> str:
    listed = [f"{t.root} ({t.version or '?'}, {t.layout})" for t in toolkits]
    return f"; found elsewhere: {', '.join(listed)} (set {key})" if listed else ""


def _relative(check_id: str, key: str, value: str, expected: str) -> Check:
    return Check(check_id, FAIL, f"{value} is relative", expected,
                 f"set {key} to an absolute path", blocking=True)


def check_cuda_versions(ctx: Context) -> Iterable[Check]:
    cuda = ctx.settings.cuda
    for key, value in (("cuda.version", cuda.version), ("cuda.cudnn_version", cuda.cudnn_version)):
        if versions.is_xyz(value):
            yield Check(f"{key}", OK, value, "x.y.z")
        else:
            yield Check(f"{key}", FAIL, value, "x.y.z",
                        f"Bazel needs three parts: set {key} to e.g. "
                        f"{value + '.0' if value.count('.') == 1 else '12.4.0'}", blocking=True)


def _settable(listed: Iterable[str]) -> list[str]:
    """The hermetic versions a profile can name: cuda.version and cuda.cudnn_version take
    x.y.z (TF's lists also hold "11.8" and "8.9.4.25", which no profile value can match)."""
    return [v for v in listed if re.fullmatch(r"\d+\.\d+\.\d+", v)]


def check_cuda_toolkit(ctx: Context) -> Iterable[Check]:
    cuda, facts = ctx.settings.cuda, ctx.facts
    want = versions.major_minor(cuda.version) or cuda.version
    expected = f"CUDA {cuda.version}" + (f" at {cuda.local_cuda_path}" if cuda.local_cuda_path else
                                          " (hermetic download)")
    others = _candidates_hint(facts.cuda_candidates, "cuda.local_cuda_path")
    if not cuda.local_cuda_path:
        if cuda.version in ctx.tf.hermetic_cuda_versions:
            yield Check("cuda.toolkit", OK, f"Bazel downloads CUDA {cuda.version}", expected)
        else:
            yield Check("cuda.toolkit", FAIL, f"CUDA {cuda.version} is not a hermetic "
                        f"redistribution of TF {ctx.tf.version}" + others, expected,
                        "set cuda.local_cuda_path to a local CUDA, or cuda.version to one of "
                        + ", ".join(_settable(ctx.tf.hermetic_cuda_versions)), blocking=True)
        return
    if not os.path.isabs(cuda.local_cuda_path):
        yield _relative("cuda.toolkit", "cuda.local_cuda_path", cuda.local_cuda_path, expected)
        return
    tk = facts.cuda
    if tk is None:
        yield Check("cuda.toolkit", FAIL, f"no CUDA toolkit at {cuda.local_cuda_path}" + others,
                    expected, "install CUDA there or fix cuda.local_cuda_path", blocking=True)
        return
    if versions.major_minor(tk.version) != want:
        yield Check("cuda.toolkit", FAIL, f"CUDA {tk.version} at {tk.root} ({tk.version_source})",
                    expected, f"point cuda.local_cuda_path at a CUDA {want} install, or set "
                    f"cuda.version to the one found", blocking=True)
    else:
        yield cuda_compat.toolkit_out_of_range(ctx, tk) or Check(
            "cuda.toolkit", OK, f"CUDA {tk.version} at {tk.root} ({tk.version_source})", expected)
    yield from _check_cuda_layout(ctx, tk)


def _check_cuda_layout(ctx: Context, tk: CudaToolkit) -> Iterable[Check]:
    fix = ctx.settings.cuda.layout_fix
    expected = "lib/ (TF's hermetic rules link lib, include, bin, nvvm)"
    if tk.has_lib:
        yield Check("cuda.layout", OK, f"{tk.layout}: lib/ present", expected)
    elif fix == "none":
        yield Check("cuda.layout", FAIL, f"{tk.layout}: lib64/ only, no lib/", expected,
                    "a runfile install needs the lib->lib64 fix: set cuda.layout_fix to shim "
                    "(default) or patch, then `invoke patch`", blocking=True)
    else:
        yield Check("cuda.layout", WARN, f"{tk.layout}: lib64/ only, no lib/", expected,
                    f"the lib->lib64 fix is needed; cuda.layout_fix={fix} applies it "
                    "(`invoke patch`, also run by `invoke build`)")
    yield cuda_compat.cudart_row(ctx, tk)
    if tk.cupti_include and tk.cupti_include.endswith("extras/CUPTI/include"):
        yield Check("cuda.cupti", WARN if fix == "none" else OK,
                    f"{tk.cupti_include} (runfile layout)", "CUPTI headers found by Bazel",
                    "" if fix != "none" else "set cuda.layout_fix=shim so Bazel sees CUPTI")
    elif tk.cupti_include:
        yield Check("cuda.cupti", OK, tk.cupti_include, "CUPTI headers found by Bazel")
    else:
        yield Check("cuda.cupti", WARN, "no cupti.h", "CUPTI headers found by Bazel",
                    "install the CUDA toolkit's CUPTI component (extras/CUPTI)")
    yield (Check("cuda.libdevice", OK, tk.libdevice, "nvvm/libdevice (XLA at run time)")
           if tk.libdevice else
           Check("cuda.libdevice", WARN, "no nvvm/libdevice", "nvvm/libdevice (XLA at run time)",
                 "install the toolkit's nvvm component; XLA needs libdevice at run time"))


def check_ptxas(ctx: Context) -> Iterable[Check]:
    tk, on_path = ctx.facts.cuda, ctx.facts.path_ptxas
    want = versions.major_minor(tk.version if tk else ctx.settings.cuda.version)
    expected = f"ptxas {want} first on PATH"
    bindir = f"{tk.root}/bin" if tk and tk.ptxas else None
    fix = (f"put {bindir} first on PATH (configure records that PATH for build and smoke-test)"
           if bindir else "put the CUDA toolkit's bin/ first on PATH")
    if not on_path.path:
        yield Check("cuda.ptxas", WARN, "no ptxas on PATH", expected, fix)
    elif versions.major_minor(on_path.version) != want:
        yield Check("cuda.ptxas", WARN, f"{on_path.path} ({on_path.version})", expected,
                    f"XLA would use the wrong ptxas: {fix}")
    else:
        yield Check("cuda.ptxas", OK, f"{on_path.path} ({on_path.version})", expected)


def check_cudnn(ctx: Context) -> Iterable[Check]:
    cuda, facts = ctx.settings.cuda, ctx.facts
    expected = f"cuDNN {cuda.cudnn_version}" + (
        f" at {cuda.local_cudnn_path}" if cuda.local_cudnn_path else " (hermetic download)")
    elsewhere = [f"{c.root} ({c.version})" for c in facts.cudnn_candidates]
    others = f"; found elsewhere: {', '.join(elsewhere)}" if elsewhere else ""
    if not cuda.local_cudnn_path:
        listed = ctx.tf.hermetic_cudnn_versions
        if cuda.cudnn_version in listed:
            yield Check("cudnn", OK, f"Bazel downloads cuDNN {cuda.cudnn_version}", expected)
        else:
            yield Check("cudnn", FAIL, f"cuDNN {cuda.cudnn_version} is not a hermetic "
                        f"redistribution of TF {ctx.tf.version} (it lists {', '.join(listed)})"
                        + others, expected,
                        "set cuda.local_cudnn_path to a local cuDNN install (the only way to use "
                        f"{cuda.cudnn_version}), or cuda.cudnn_version to one of "
                        + ", ".join(_settable(listed)),
                        blocking=True)
        return
    if not os.path.isabs(cuda.local_cudnn_path):
        yield _relative("cudnn", "cuda.local_cudnn_path", cuda.local_cudnn_path, expected)
        return
    found = facts.cudnn
    if found is None or not found.header:
        yield Check("cudnn", FAIL, f"no cudnn_version.h under {cuda.local_cudnn_path}" + others,
                    expected, "install cuDNN there (include/ and lib/) or fix "
                    "cuda.local_cudnn_path", blocking=True)
        return
    if found.version != cuda.cudnn_version:
        yield Check("cudnn", FAIL, f"cuDNN {found.version} ({found.header})", expected,
                    f"set cuda.cudnn_version = \"{found.version}\", or point "
                    "cuda.local_cudnn_path at the wanted version", blocking=True)
    elif not found.library:
        yield Check("cudnn", FAIL, f"cuDNN {found.version} headers but no libcudnn.so*", expected,
                    "install the cuDNN libraries (lib/libcudnn.so.9)", blocking=True)
    else:
        yield Check("cudnn", OK, f"cuDNN {found.version}: {found.header}, {found.library}",
                    expected)
        yield cuda_compat.cudnn_build_row(ctx, found)


def check_capabilities(ctx: Context) -> Iterable[Check]:
    cuda, gpus = ctx.settings.cuda, ctx.facts.gpus.gpus
    listed = cuda.compute_capabilities
    expected = "sm_XY/compute_XY that CUDA " + cuda.version + " can target"
    if not listed:
        yield Check("cuda.capabilities", FAIL, "none", expected,
                    "set cuda.compute_capabilities, e.g. [\"sm_86\"] for your GPU "
                    "(https://developer.nvidia.com/cuda-gpus)", blocking=True)
        return
    caps, problems = capabilities.normalise(listed)
    problems += capabilities.untargetable(caps, cuda.version)
    if problems:
        found = "; ".join(f"{p.text}: {p.reason}" for p in problems)
        fixes = "; ".join(f"{p.text} -> {p.fix}" for p in problems)
        yield Check("cuda.capabilities", FAIL, found, expected,
                    f"change cuda.compute_capabilities: {fixes}", blocking=True)
        return
    text = capabilities.joined(caps)
    if listed != [str(c) for c in caps]:
        text += f" (from {listed})"
    yield Check("cuda.capabilities", OK, text, expected)
    for gpu in gpus:
        yield _check_runs_on(gpu, caps)


def _check_runs_on(gpu, caps) -> Check:
    cc = capabilities.parse_gpu_capability(gpu.compute_cap)
    expected = f"code that runs on {gpu.name}"
    if cc is None:
        return Check("gpu.capability", WARN, f"{gpu.name}: compute capability {gpu.compute_cap!r}",
                     expected, "upgrade the NVIDIA driver (nvidia-smi reports compute_cap)")
    native = capabilities.native(*cc)
    running = [str(c) for c in caps if capabilities.runs_on(c, *cc)]
    if running:
        return Check("gpu.capability", OK, f"{gpu.name} ({gpu.compute_cap}) runs "
                     f"{', '.join(running)}; native is {native}", expected)
    return Check("gpu.capability", FAIL, f"nothing in the list runs on {gpu.name} "
                 f"({gpu.compute_cap})", expected,
                 f"add {native} to cuda.compute_capabilities (native for this GPU)")


def check_gpus(ctx: Context) -> Iterable[Check]:
    gpus = ctx.facts.gpus
    if gpus.gpus:
        found = "; ".join(f"{g.name} (compute {g.compute_cap}, driver {g.driver})" for g in gpus.gpus)
        yield Check("gpu", OK, found, "an NVIDIA GPU (for running, not for building)")
        if ctx.cuda_on:
            yield from cuda_compat.driver_rows(ctx)
    elif gpus.error:
        yield Check("gpu", WARN, f"nvidia-smi failed: {gpus.error}", "an NVIDIA GPU",
                    "check the NVIDIA driver (nvidia-smi must work); building works without it")
    elif ctx.cuda_on:
        yield Check("gpu", WARN, "no nvidia-smi, no GPU visible", "an NVIDIA GPU",
                    "building works without a GPU; the smoke test then runs on the CPU only")
    else:
        yield Check("gpu", SKIP, "not needed (CPU profile)", "-")


# -- machine and source --------------------------------------------------------------------------
def check_machine(ctx: Context) -> Iterable[Check]:
    machine, build = ctx.facts.machine, ctx.settings.build
    if machine is None:
        return
    need = sizing.disk_needed_gib(ctx.cuda_on)
    disk = f"{machine.disk_free_gib:.0f} GiB free at {machine.disk_path}"
    if not ctx.facts.filesystems:  # else check_filesystems has a row per filesystem
        yield (Check("machine.disk", OK, disk, f">= {need:.0f} GiB at the output root")
               if machine.disk_free_gib >= need else
               Check("machine.disk", WARN, disk, f">= {need:.0f} GiB at the output root",
                     "free disk space, or set build.output_user_root to a larger disk"))
    heap = sizing.heap_plan(ctx.settings, machine)
    plan = sizing.budget(machine, ctx.cuda_on, heap.sizing_gib)
    recommended = plan.jobs
    found = (f"{machine.cpu_count} cores, {machine.mem_total_gib:.1f} GiB RAM "
             f"({plan.explain()}); recommended jobs {recommended}; Bazel heap: {heap.reason}")
    if build.jobs == 0:
        yield Check("machine.jobs", OK, found + " (build.jobs=0: uses it)", "jobs that fit in RAM")
    elif build.jobs > recommended:
        yield Check("machine.jobs", WARN, found + f"; build.jobs={build.jobs}", "jobs that fit in RAM",
                    f"set build.jobs={recommended} (or 0) to avoid `Killed signal terminated "
                    "program cc1plus`")
    else:
        yield Check("machine.jobs", OK, found + f"; build.jobs={build.jobs}", "jobs that fit in RAM")


def check_filesystems(ctx: Context) -> Iterable[Check]:
    """One row per filesystem tfbuild writes to: its free space against what a build of this
    profile will write there (figures: [disk] and [machine] in tfbuild/data/pins.toml)."""
    build = ctx.settings.build
    for fs in ctx.facts.filesystems:
        parts = []
        for place in fs.places:
            need = sizing.place_need_gib(place.name, ctx.cuda_on,
                                         disk_cache_max_gib=build.disk_cache_max_gib,
                                         disk_cache_used_gib=place.used_gib,
                                         cuda_redist_gib=place.measured_gib)
            parts.append((place, need))
        total = sum(n for _, n in parts)
        found = f"{fs.free_gib:.1f} GiB free of {fs.total_gib:.0f} GiB: " + ", ".join(
            f"{p.name} {p.path}" + (f" (holds {p.used_gib:.1f} GiB)" if p.used_gib else "")
            for p, _ in parts)
        expected = f">= {total:.1f} GiB (" + " + ".join(
            f"{p.name} {n:.1f}" + (f" of which NVIDIA {p.measured_gib:.1f} per its JSON"
                                   if p.measured_gib is not None and ctx.cuda_on else "")
            for p, n in parts) + ")"
        keys = sorted({p.key for p, _ in parts})
        row = f"disk.{fs.mount}"
        if fs.free_gib >= total:
            yield Check(row, OK, found, expected)
        else:
            yield Check(row, WARN, found, expected,
                        f"free {total - fs.free_gib:.1f} GiB on {fs.mount} (`invoke cache` shows "
                        f"what tfbuild's places hold), or move some of it: {', '.join(keys)}")


def check_source(ctx: Context) -> Iterable[Check]:
    src, tf = ctx.facts.source, ctx.settings.tensorflow
    if src is None:
        return
    expected = f"TensorFlow {tf.version} source tree"
    where = f"{src.path} (taken from {src.chosen_by})" if src.chosen_by else src.path
    if not src.exists:
        yield Check("source", WARN, f"{where} does not exist", expected,
                    "run `invoke source` to clone it, or pass --source DIR / set "
                    "tensorflow.source_dir")
        return
    if not src.is_tf_tree:
        yield Check("source", FAIL, f"{where} is not a TensorFlow tree (no WORKSPACE, "
                    "configure.py and tensorflow/core/public/version.h)", expected,
                    "pass --source DIR of a TensorFlow checkout", blocking=True)
        return
    found = f"{where}: TF {src.tf_version}, .bazelversion {src.bazelversion}"
    if src.git_commit:
        found += f", commit {src.git_commit[:12]} ({src.git_describe})"
    if src.tf_version != tf.version:
        yield Check("source", WARN, found, expected,
                    f"check out {tf.git_ref}, or set tensorflow.version={src.tf_version}")
    else:
        yield Check("source", OK, found, expected)
    yield source_date_row(ctx)


def source_date_row(ctx: Context) -> Check:
    """SOURCE_DATE_EPOCH: the wheel's entries carry it, so two builds of one commit can match."""
    date = source_date(ctx.settings, ctx.facts)
    expected = "a fixed time for the wheel's entries (SOURCE_DATE_EPOCH)"
    if date.value is None:
        return Check("source.date", WARN, "the tree has no git HEAD and "
                     "tensorflow.source_date_epoch is 0: the wheel will carry the time of the "
                     "build, so no two builds give the same wheel", expected,
                     "set tensorflow.source_date_epoch to the release's commit time (e.g. "
                     "`git log -1 --format=%ct v2.18.1` where the repository is)")
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(date.value))
    return Check("source.date", OK, f"SOURCE_DATE_EPOCH={date.value} ({when}, from "
                 f"{date.origin})", expected)


def check_nccl_path(ctx: Context) -> Iterable[Check]:
    value = ctx.settings.cuda.local_nccl_path
    if value and not (os.path.isabs(value) and ctx.facts.nccl_path_exists):
        yield Check("cuda.local_nccl_path", FAIL, f"{value} is not an existing absolute directory",
                    "an absolute path", "fix cuda.local_nccl_path, or set it to \"\" for the "
                    "hermetic NCCL", blocking=True)


def check_network(ctx: Context) -> Iterable[Check]:
    facts = ctx.facts
    if not facts.network_checked:
        return
    for probe in facts.network:
        if probe.key == "remote.cache":
            yield _debian_bazel_tls(_remote_cache_row(probe), probe, facts)
            continue
        if probe.key == "remote.executor":
            yield _debian_bazel_tls(_executor_row(probe, ctx), probe, facts)
            continue
        expected = f"{probe.url} answers within {2:g} s"
        found = f"{probe.status} in {probe.seconds:.2f} s ({probe.detail})"
        row_id = f"net.{probe.key.split('.')[-1]}" + (
            f".{probe.label.split()[-1]}" if probe.key in ("mirrors.direct_hosts",
                                                          "mirrors.host_mirrors") else "")
        if probe.status == "ok":
            yield Check(row_id, OK, found, expected)
        elif probe.status == "slow":
            yield Check(row_id, WARN, found, expected,
                        f"downloads from here will be slow: consider another {probe.key}")
        else:
            yield Check(row_id, WARN, f"unreachable after {probe.seconds:.2f} s: {probe.detail}",
                        expected, f"change {probe.key} to a host you can reach (or set "
                        "HTTPS_PROXY); `invoke prefetch` where the network works gives offline "
                        "builds; `--offline` skips these checks")


def _debian_bazel_tls(row: Check, probe, facts: Facts) -> Check:
    """Debian's bazel-bootstrap 4.2.3 speaks TLS gRPC only with Debian's netty-tcnative, which
    `invoke build` hands to its server (discovery.tlsnative); without it, grpcs:// crashes it."""
    if row.status != OK or not probe.url.startswith("grpcs://") or \
            facts.bazel.version_source != "dpkg":
        return row
    if facts.netty_tcnative:
        return dataclasses.replace(row, found=f"{row.found}; Debian's Bazel gets TLS from "
                                   f"{facts.netty_tcnative}")
    return Check(row.id, WARN, f"{row.found}; but {facts.bazel.path} is Debian's bazel-bootstrap, "
                 "which cannot open TLS gRPC connections without netty-tcnative", row.expected,
                 "apt install libnetty-tcnative-jni (`invoke build` hands it to Bazel), or use an "
                 "upstream Bazel (`invoke bazel-install`), or a grpc:// cache on a trusted network")


def _remote_cache_row(probe) -> Check:
    """net.cache: gRPC caches must answer (Bazel stops without them), HTTP ones should."""
    grpc = probe.url.startswith(("grpc://", "grpcs://"))
    how = "TLS handshake" if probe.url.startswith(("grpcs://", "https://")) else (
        "TCP connect" if grpc else "one HTTP request")
    expected = f"{probe.url} answers ({how}) within {2:g} s"
    found = f"{probe.status} in {probe.seconds:.2f} s ({probe.detail})"
    if probe.status == "ok":
        return Check("net.cache", OK, found, expected)
    if probe.status == "slow":
        return Check("net.cache", WARN, found, expected, "a slow cache slows every build: "
                     "consider a nearer remote.cache")
    if probe.status == "unreachable":
        return Check("net.cache", FAIL if grpc else WARN, found, expected,
                     "start the cache or fix remote.cache; " + (
                         "`invoke build` refuses to start without it" if grpc else
                         "Bazel builds locally without it") + "; `--offline` skips this check")
    if probe.status == "tls-verify":
        return Check("net.cache", FAIL, found, expected,
                     "set remote.tls_ca to the PEM file of the CA that signed the server's "
                     "certificate (and use a host name that certificate names)")
    if probe.status == "tls-failed":
        return Check("net.cache", FAIL, found, expected,
                     "check that the server speaks TLS (else use grpc://), and set "
                     "remote.tls_client_cert/tls_client_key if it asks for a client certificate")
    return Check("net.cache", FAIL, probe.detail, expected, "fix the remote.* keys named")


def _executor_row(probe, ctx: Context) -> Check:
    """remote.executor: the server's capabilities (execution on, its digest), the platform the
    profile asks of the workers, and the host paths the workers must have."""
    remote = ctx.settings.remote
    platform = ", ".join(f"{k}={v}" for k, v in sorted(remote.exec_properties.items()))
    expected = (f"{probe.url} executes actions (REAPI GetCapabilities)"
                + (f" on a platform with {platform}" if platform else ""))
    host_paths = [f"{key} = {value}" for key, value in host_toolchain_paths(ctx.settings)]
    compiler = ctx.facts.clang.bazel_path or ctx.facts.clang.path
    needs = ([f"the compiler {compiler}"] if compiler else []) + host_paths
    found = f"{probe.status} in {probe.seconds:.2f} s ({probe.detail})"
    if probe.status == "ok":
        if host_paths and remote.workers_have_host_paths:
            found += "; every worker must have " + ", ".join(needs)
        elif needs:
            found += f"; actions run what the rc names, e.g. {needs[0]}: the workers' platform " \
                "must provide it at that path"
        return Check("remote.executor", OK, found, expected)
    if probe.status == "no-execution":
        return Check("remote.executor", FAIL, found, expected,
                     "that server caches but does not execute: use it as remote.cache, or point "
                     "remote.executor at an execution service", blocking=True)
    if probe.status == "config":
        return Check("remote.executor", FAIL, probe.detail, expected, "fix the remote.* keys "
                     "named", blocking=True)
    return Check("remote.executor", FAIL, found, expected,
                 "start the executor or fix remote.executor (and remote.instance_name); "
                 "`invoke build` refuses to start without it; remote.executor = \"\" builds "
                 "locally", blocking=True)


def home_rc_key(line: str) -> str:
    """The profile key that carries a ~/.bazelrc line (tfbuild passes --nohome_rc)."""
    command = line.split(None, 1)[0].split(":", 1)[0]
    if command == "startup":
        return "build.startup_options"
    if command in ("import", "try-import"):
        return "build.bazel_options (the imported file's build lines)"
    return "build.bazel_options"


def check_home_rc(ctx: Context) -> Iterable[Check]:
    """~/.bazelrc is not read (--nohome_rc): its lines the profile does not carry, each with
    the key to carry it in; and the Bazel download mirror bazelisk's settings name."""
    facts, build = ctx.facts, ctx.settings.build
    carried = {*build.startup_options, *build.bazel_options}
    dropped = []
    for number, line in facts.home_rc or ():
        parts = line.split(None, 1)
        options = parts[1].split() if len(parts) > 1 else []
        if options and all(o in carried for o in options):
            continue
        dropped.append(f"line {number} `{line}` -> {home_rc_key(line)}")
    mirror = ""
    if facts.bazelisk_base_url:
        url, where = facts.bazelisk_base_url
        mirror = f"; Bazel downloads: BAZELISK_BASE_URL={url} from {where} (bazel-install uses it)"
    expected = "what ~/.bazelrc says carried by the profile (tfbuild passes --nohome_rc)"
    if facts.home_rc is None:
        yield Check("bazel.home_rc", OK, "no ~/.bazelrc" + mirror, expected)
    elif not dropped:
        yield Check("bazel.home_rc", OK, "~/.bazelrc: every line is carried by the profile"
                    + mirror, expected)
    else:
        yield Check("bazel.home_rc", WARN, f"~/.bazelrc is not read by tfbuild's builds; "
                    f"{len(dropped)} line(s) the profile does not carry: " + "; ".join(dropped)
                    + mirror, expected,
                    "put each option in the key named (a TLS-inspecting proxy's trust store "
                    "and proxy settings are `startup --host_jvm_args=-D…` lines: "
                    "build.startup_options), or remove the line from ~/.bazelrc")


COMMON: tuple[CheckFn, ...] = (check_python, check_clang, check_linkers_and_tools, check_bazel,
                               check_home_rc)
CUDA: tuple[CheckFn, ...] = (check_cuda_versions, cuda_compat.check_tf_range, check_cuda_toolkit, check_ptxas, check_cudnn,
                             check_nccl_path, check_capabilities)


def check_cache_keys(ctx: Context) -> Iterable[Check]:
    yield from cache_key_check.check_cache_keys(ctx)


TAIL: tuple[CheckFn, ...] = (check_gpus, check_machine, check_filesystems, check_source,
                             check_network, check_cache_keys)


IMAGE_SPACE_GIB = {False: 4.0, True: 12.0}  # an image of this recipe, CPU / CUDA (measured CPU: 2.1 GB)


def container_engine_row(found: ContainerEngine, cuda_on: bool) -> Check:
    """The engine `build --in-docker` would use: which, its version, whether it runs a
    container in the profile's image, free space where it keeps images. Not blocking: a host
    build needs no engine."""
    expected = "Docker or podman answering, for `build --in-docker`"
    if not found.name:
        fix = ("start dockerd or install podman (only `build --in-docker` and `docker-build` "
               "need one)" if found.choice == "auto" else
               f"start {found.choice}, or set docker.engine = \"auto\"")
        return Check("container.engine", SKIP if found.choice == "auto" else WARN,
                     found.problem, expected, fix)
    parts = [f"{found.name} {found.version} ({found.server})"]
    need = IMAGE_SPACE_GIB[cuda_on]
    if found.storage_free_gib is not None:
        parts.append(f"images in {found.storage}: {found.storage_free_gib:.1f} GiB free")
    if not found.image_id:
        parts.append(f"no image {found.image} yet (`invoke docker-build` builds it)")
    elif found.runs == "yes":
        parts.append(f"runs a container in {found.image} ({found.image_id[:19]})")
    else:
        return Check("container.engine", WARN, "; ".join(parts) + f"; cannot run a container in "
                     f"{found.image}: {found.runs}", expected,
                     f"check `{found.name} run {found.image} true` by hand; rebuild the image "
                     "with `invoke docker-build`")
    found_text = "; ".join(parts)
    if found.storage_free_gib is not None and found.storage_free_gib < need:
        return Check("container.engine", WARN, found_text, expected + f", >= {need:.0f} GiB free "
                     "for an image", f"free space in {found.storage} (`{found.name} system prune` "
                     "removes unused images)")
    return Check("container.engine", OK, found_text, expected)


def check_cuda_disabled(ctx: Context) -> Iterable[Check]:
    yield Check("cuda", SKIP, "CUDA disabled by the profile", "-")


def run_checks(settings: Settings, facts: Facts) -> list[Check]:
    ctx = Context(settings, facts)
    middle = CUDA if settings.cuda.enabled else (check_cuda_disabled,)
    return [row for fn in COMMON + middle + TAIL for row in fn(ctx)]


def summary(rows: Iterable[Check]) -> dict:
    rows = list(rows)
    counts = {s: sum(1 for r in rows if r.status == s) for s in (OK, WARN, FAIL, SKIP)}
    return {**counts, "blocking": [r.id for r in rows if r.blocks],
            "failed": [r.id for r in rows if r.status == FAIL]}
