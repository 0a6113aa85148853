"""`invoke smoke-test`: prove a built TensorFlow works from Python and from the C API, in the
environment configure recorded.

Steps: check the inputs (wheel, library dir, C compiler) before anything slow; a fresh virtual
environment with the wheel and what it needs (and no other TensorFlow); import TensorFlow and
report it (a CUDA profile on a machine with a GPU must see it); train a small Keras CNN to a
stated accuracy and export a SavedModel and a frozen graph; compile a C program against the C
API and libtensorflow, run the frozen graph on one batch and compare with Python's outputs.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from packaging.utils import canonicalize_name

from tfbuild import (console, environment, pathcheck, paths, resources,
                     secrets, sums, wheel_audit)
from tfbuild.building.diagnose import describe, diagnose
from tfbuild.discovery import system
from tfbuild.discovery.programs import which
from tfbuild.errors import (ConfigError, SmokeTestFailed, TfbuildError,
                            ToolMissingError)
from tfbuild.files import atomic_write
from tfbuild.runner import Runner, tail
from tfbuild.settings import ResolvedProfile, resolve
from tfbuild.smoke import checks
from tfbuild.wheel_check import audit_wheel

RESOURCES = resources.package_dir() / "smoke" / "resources"
MIN_ACCURACY = 0.90
TF_DISTRIBUTIONS = {"tensorflow", "tensorflow-cpu", "tensorflow-gpu", "tensorflow-intel",
                    "tensorflow-macos", "tf-nightly", "tf-nightly-cpu", "intel-tensorflow"}
TAGS_PROBE = ("import json; from pip._vendor.packaging import tags; "
              "print(json.dumps([str(t) for t in tags.sys_tags()]))")


@dataclass
class Step:
    name: str
    status: str = "skip"
    seconds: float = 0.0
    detail: str = ""


@dataclass
class SmokeInputs:
    wheel: Path
    libtensorflow: Path | None
    cc: str
    python: str
    from_dist: Path | None


@dataclass
class Report:
    steps: list[Step] = field(default_factory=list)
    data: dict = field(default_factory=dict)

    def step(self, name: str) -> Step:
        step = Step(name)
        self.steps.append(step)
        return step

    def as_dict(self) -> dict:
        ok = all(s.status in ("ok", "skip") for s in self.steps)
        return {"ok": ok, "steps": [s.__dict__ for s in self.steps], **self.data}


# -- inputs --------------------------------------------------------------------------------------
def test_python(profile: ResolvedProfile, recorded: dict[str, str]) -> str:
    """The interpreter configure recorded (PYTHON_BIN_PATH of the run environment), else the
    profile's toolchain.python; the shell's python3 only when neither exists, with a warning."""
    python = recorded.get("PYTHON_BIN_PATH") or profile.settings.toolchain.python
    if python:
        return python
    console.warn("no interpreter recorded by configure and no toolchain.python: using python3 "
                 "from PATH; run `invoke configure` so the smoke test uses the build's Python")
    return which("python3", os.environ) or "python3"


def resolve_inputs(profile: ResolvedProfile, *, wheel: str | None, libtensorflow: str | None,
                   cc: str | None, runner: Runner, python: str) -> SmokeInputs:
    settings = profile.settings
    dist = paths.expand(settings.build.dist_dir) / profile.name
    lib_dir = None
    if libtensorflow:
        lib_dir = pathcheck.readable_dir(paths.expand(libtensorflow), "--libtensorflow")
        if not lib_dir.is_dir() or not _library(lib_dir, "tensorflow"):
            raise ConfigError(f"no libtensorflow.so* in {lib_dir}",
                              hint="pass --libtensorflow DIR holding libtensorflow.so.2 (and "
                              "libtensorflow_framework.so.2), e.g. dist/<profile>")
        if (lib_dir / sums.SUMS).is_file():  # a dist/<profile> directory: check what is used
            sums.verify(lib_dir, [p.name for p in sorted(lib_dir.glob("libtensorflow*.so*"))
                                  if not p.is_symlink()])
    if wheel:
        wheel_path = paths.expand(wheel)
        if not wheel_path.exists():
            raise ConfigError(f"--wheel: {wheel_path} does not exist",
                              hint="pass --wheel PATH of a TensorFlow wheel, or run `invoke build`")
        pathcheck.readable_file(wheel_path, "--wheel")
        from_dist = None
    else:
        if dist.parent.exists():
            pathcheck.readable_dir(dist.parent, "build.dist_dir")
        wheels = sorted(dist.glob("*.whl"))
        if len(wheels) != 1:
            raise ConfigError(f"{'no' if not wheels else 'more than one'} wheel in {dist}",
                              hint="run `invoke build` for this profile, or pass --wheel PATH")
        wheel_path, from_dist = wheels[0], dist
        used = [wheel_path.name]
        if lib_dir is None:
            lib_dir = _built_libtensorflow(dist)
            if lib_dir:
                used += [p.name for p in sorted(dist.glob("libtensorflow*.so*")) if not p.is_symlink()]
        sums.verify(dist, used)  # before anything installs or loads them
    if wheel:
        sums.verify_if_listed(wheel_path)
    if not os.access(python, os.X_OK) and not which(python, os.environ):
        raise ConfigError(f"the Python to test with, {python}, is not an executable",
                          hint="run `invoke configure` again, or set toolchain.python to an "
                          "interpreter")
    result = runner.run([python, "-c", TAGS_PROBE], check=False, quiet=True)
    supported = json.loads(result.stdout) if result.ok else []
    fits, why = checks.wheel_fits(wheel_path, supported)
    if not fits:
        raise ConfigError(f"the wheel cannot be installed here: {why}",
                          hint="build or download a wheel for this Python and platform, or set "
                          "toolchain.python to a matching interpreter")
    return SmokeInputs(wheel_path, lib_dir, _compiler(profile, cc), python, from_dist)


def _built_libtensorflow(dist: Path) -> Path | None:
    """The libtensorflow `invoke build` collected into dist/<profile>/: the C API step runs it
    rather than the wheel's libtensorflow_cc.so.2."""
    if (dist / "libtensorflow.so.2").exists() or (dist / "libtensorflow.so").exists():
        return dist
    console.warn(f"no libtensorflow.so.2 in {dist}: the C API step uses the wheel's "
                 "libtensorflow_cc.so.2 (add //tensorflow:libtensorflow.so to build.targets, or "
                 "pass --libtensorflow DIR)")
    return None


def _library(directory: Path, name: str) -> Path | None:
    for candidate in (f"lib{name}.so.2", f"lib{name}.so", f"lib{name}_cc.so.2"):
        if (directory / candidate).exists():
            return directory / candidate
    return None


def _compiler(profile: ResolvedProfile, cc: str | None) -> str:
    tc = profile.settings.toolchain
    candidates = [cc] if cc else [tc.clang_path or None, "gcc", "cc", "clang"]
    for candidate in filter(None, candidates):
        path = candidate if os.sep in candidate else which(candidate, os.environ)
        if path and os.access(path, os.X_OK) and os.path.isfile(path):
            return path
    raise ToolMissingError(f"no C compiler found ({', '.join(filter(None, candidates))})",
                           hint="install gcc (apt install gcc), or pass --cc PATH")


# -- the run -------------------------------------------------------------------------------------
def run_smoke_test(profile: ResolvedProfile, *, wheel: str | None = None,
                   libtensorflow: str | None = None, cc: str | None = None,
                   input_op: str | None = None, output_op: str | None = None,
                   keep: bool = False, source: str | None = None,
                   runner: Runner | None = None) -> dict:
    runner = runner or Runner(echo=True)
    env = _environment(profile, source)
    inputs = resolve_inputs(profile, wheel=wheel, libtensorflow=libtensorflow, cc=cc,
                            runner=runner, python=test_python(profile, env))
    console.step("smoke-test environment:")
    for name, value in env.items():
        console.plain(f"  {name}={value}")
    work = Path(tempfile.mkdtemp(prefix="tfbuild-smoke-", dir=paths.scratch_root(create=True)))
    report = Report(data={"profile": profile.name, "wheel": str(inputs.wheel),
                          "workdir": str(work), "environment": env})
    try:
        _run_steps(profile, inputs, env, work, report, runner, input_op, output_op)
    finally:
        result = report.as_dict()
        text = json.dumps(secrets.mask_data(result), indent=2) + "\n"
        atomic_write(work / "smoke-test.json", text)
        if inputs.from_dist:
            atomic_write(inputs.from_dist / "smoke-test.json", text)
        _print_report(report)
        if keep:
            console.note(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return result


def _environment(profile: ResolvedProfile, source: str | None) -> dict[str, str]:
    src = paths.source_dir(profile.settings, source)
    try:
        recorded = environment.load(paths.state_dir(src)).as_dict()
    except TfbuildError:
        if profile.settings.cuda.enabled:
            console.warn(f"no recorded environment for {src}: run `invoke configure` so the "
                         "CUDA libraries and XLA_FLAGS are set")
        recorded = {"TF_ENABLE_ONEDNN_OPTS": "0"}
    return recorded


def _timed(step: Step, fn):
    start = time.monotonic()
    try:
        value = fn()
    except TfbuildError as exc:
        step.status, step.detail = "fail", exc.message
        step.seconds = round(time.monotonic() - start, 2)
        raise
    step.status = "ok"
    step.seconds = round(time.monotonic() - start, 2)
    return value


def _audit_wheel(inputs: SmokeInputs, report: Report, runner: Runner) -> None:
    """auditwheel's verdict (the policy the wheel meets, the libraries it needs from outside);
    informative: a missing or failing auditwheel skips the step with a warning."""

    step = report.step("wheel audit")
    start = time.monotonic()
    audit = audit_wheel(inputs.wheel, runner)
    step.seconds = round(time.monotonic() - start, 2)
    report.data["wheel_audit"] = audit.as_dict()
    if audit.ok:
        step.status, step.detail = "ok", wheel_audit.summary(audit)
    else:
        step.detail = audit.error or ""
        console.warn(f"wheel not audited: {audit.error}")


def _refuse_a_cpu_wheel(profile, inputs: SmokeInputs, report: Report) -> None:
    """A CUDA profile and a wheel whose own build_info says it was built without CUDA: said
    before minutes of installing it (the import step would say the same)."""
    if not profile.settings.cuda.enabled:
        return
    info = checks.wheel_build_info(inputs.wheel)
    if info is not None and info.get("is_cuda_build") is False:
        step = report.step("wheel build info")
        step.status = "fail"
        step.detail = f"{checks.BUILD_INFO}: is_cuda_build False"
        raise SmokeTestFailed("the wheel was built without CUDA but the profile has CUDA "
                              f"({inputs.wheel.name}: {checks.BUILD_INFO} says is_cuda_build "
                              "False)", hint="build with a CUDA profile (configure writes "
                              "--config=cuda_clang), or smoke-test it with a CPU profile")


def _run_steps(profile, inputs: SmokeInputs, env: dict, work: Path, report: Report,
               runner: Runner, input_op: str | None, output_op: str | None) -> None:
    _audit_wheel(inputs, report, runner)
    _refuse_a_cpu_wheel(profile, inputs, report)
    venv_python = _timed(report.step("virtual environment + wheel"),
                         lambda: _install(profile, inputs, work, runner))
    site = _site_packages(venv_python, runner)
    described = _timed(report.step("import tensorflow"),
                       lambda: _describe(profile, venv_python, env, work, runner))
    report.data["tensorflow"] = described
    report.data["libraries"] = {"python": described["libraries"]}
    report.steps[-1].detail = (f"TensorFlow {described['tf_version']}, CUDA "
                               f"{'yes' if described['built_with_cuda'] else 'no'}, GPUs "
                               f"{described['gpus'] or 'none'}; loaded "
                               + ", ".join(described["libraries"]))
    trained = _timed(report.step("train + export"),
                     lambda: _train(venv_python, env, work, runner))
    report.data["model"] = trained
    report.steps[-1].detail = (f"{trained['dataset']} digits, accuracy {trained['accuracy']:.3f} "
                               f"(>= {MIN_ACCURACY})")
    binary = _timed(report.step("compile C program"),
                    lambda: _compile(inputs, site, work, runner))
    report.steps[-1].detail = f"{inputs.cc}, linked {_libraries(inputs, site)[0]}"
    comparison = _timed(report.step("C API run + compare"),
                        lambda: _run_c(profile, binary, trained, env, work, runner, input_op,
                                       output_op, _libraries(inputs, site)[0], report))
    report.data["comparison"] = comparison.as_dict()
    report.steps[-1].detail = (f"{comparison.count} examples, max |diff| "
                               f"{comparison.max_abs_diff:.2e} (<= {checks.ATOL:g}), classes "
                               f"agree {comparison.argmax_agree}/{comparison.count}; C API from "
                               f"{report.data['libraries']['c_api']}")


def _install(profile, inputs: SmokeInputs, work: Path, runner: Runner) -> str:
    runner.run([inputs.python, "-m", "venv", str(work / "venv")])
    python = str(work / "venv" / "bin" / "python")
    index = profile.settings.mirrors.pip_index
    pip = [python, "-m", "pip", "--disable-pip-version-check", "install", "-q"]
    if index:
        pip += ["-i", index]
    try:
        runner.run([*pip, str(inputs.wheel)], timeout=3600)
    except TfbuildError as exc:
        raise SmokeTestFailed(f"installing {inputs.wheel.name} failed: {exc}") from None
    name, version = checks.distribution(inputs.wheel)
    listed = json.loads(runner.run([python, "-m", "pip", "list", "--format=json"],
                                   quiet=True).stdout)
    tf = {canonicalize_name(d["name"]): d["version"] for d in listed
          if canonicalize_name(d["name"]) in TF_DISTRIBUTIONS}
    if tf != {canonicalize_name(name): version}:
        raise SmokeTestFailed(f"the environment holds TensorFlow distributions {tf}, expected "
                              f"only {name} {version}",
                              hint="a dependency pulled another TensorFlow; check the wheel's "
                              "requirements")
    installed = {canonicalize_name(d["name"]): d["version"] for d in listed}
    nvidia = checks.nvidia_distributions(installed)
    if nvidia:
        cuda = profile.settings.cuda
        raise SmokeTestFailed(
            "the smoke environment holds NVIDIA's pip packages "
            + ", ".join(f"{n} {v}" for n, v in nvidia.items())
            + f"; TensorFlow would load them instead of the profile's CUDA {cuda.version} / "
            f"cuDNN {cuda.cudnn_version}",
            hint="install the wheel without the `and-cuda` extra and check the wheel's "
            "requirements; the recorded LD_LIBRARY_PATH provides CUDA and cuDNN")
    return python


def _site_packages(python: str, runner: Runner) -> Path:
    out = runner.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                     quiet=True).stdout.strip()
    return Path(out)


def _script_env(env: dict) -> dict:
    return {**env, "PYTHONUNBUFFERED": "1"}


def _describe(profile, python: str, env: dict, work: Path, runner: Runner) -> dict:
    result = runner.run([python, str(RESOURCES / "train_and_export.py"), "--workdir", str(work),
                         "--describe-only"], env=_script_env(env), check=False, timeout=600)
    if not result.ok:
        raise _failed(f"import tensorflow failed (exit {result.returncode})\n"
                      f"{tail(result.output)}", result.output)
    described = json.loads(result.stdout.strip().splitlines()[-1])
    loaded = [checks.Loaded(path, real) for path, real in described.pop("loaded", [])]
    described["libraries"] = [lib.real for lib in checks.tracked(loaded)]
    _check_cuda_versions(profile, loaded, result.stderr.splitlines(), "Python")
    if not described["tf_file"].startswith(str(work)):
        raise SmokeTestFailed(f"imported TensorFlow from {described['tf_file']}, not from the "
                              "smoke test's environment", hint="unset PYTHONPATH")
    if profile.settings.cuda.enabled:
        if not described["built_with_cuda"]:
            raise SmokeTestFailed("the wheel was built without CUDA but the profile has CUDA",
                                  hint="build with a CUDA profile (configure writes "
                                  "--config=cuda_clang)")
        machine_gpus = system.find_gpus(Runner(echo=False), os.environ).gpus
        if machine_gpus and not described["gpus"]:
            failed = checks.failed_gpu_libraries(result.stderr.splitlines())
            raise _failed(
                f"this machine has {len(machine_gpus)} GPU(s) ({machine_gpus[0].name}) but "
                "TensorFlow sees none; libraries that failed to load: "
                + (", ".join(failed) or "none reported"), result.stderr,
                hint="check LD_LIBRARY_PATH in the recorded environment (CUDA lib64, cuDNN "
                "lib, CUPTI) and `invoke doctor`")
    return described


def _failed(message: str, output: str, hint: str = "") -> SmokeTestFailed:
    """A failed step, with what the known error signatures say of its output (the run-time
    ones of tfbuild/data/signatures.toml: driver, PTX, ptxas, libdevice, libc++)."""
    found = diagnose(output.splitlines())
    message = "\n".join([message, *describe(found)])
    return SmokeTestFailed(message, hint=hint or (found[0].signature.fix if found else ""))


def _check_cuda_versions(profile, loaded: list[checks.Loaded], log: list[str], who: str) -> None:
    cuda = profile.settings.cuda
    problems = checks.cuda_mismatches(loaded, cuda=cuda.version, cudnn=cuda.cudnn_version, log=log)
    if problems:
        raise SmokeTestFailed(f"{who} loaded another CUDA/cuDNN than the profile's: "
                              + "; ".join(problems),
                              hint="check LD_LIBRARY_PATH in the recorded environment and that "
                              "no nvidia-* pip package or other CUDA is found first")


def _train(python: str, env: dict, work: Path, runner: Runner) -> dict:
    result = runner.run([python, str(RESOURCES / "train_and_export.py"), "--workdir", str(work)],
                        env=_script_env(env), check=False, timeout=3600)
    if not result.ok:
        raise _failed(f"training failed (exit {result.returncode})\n{tail(result.output)}",
                      result.output)
    trained = json.loads(result.stdout.strip().splitlines()[-1])
    if trained["accuracy"] < MIN_ACCURACY:
        raise SmokeTestFailed(f"accuracy {trained['accuracy']:.3f} is below {MIN_ACCURACY}",
                              hint="the build may compute wrong results; compare with a PyPI "
                              "TensorFlow on the same machine")
    return trained


def _include_dir(inputs: SmokeInputs, site: Path) -> Path:
    if inputs.libtensorflow and (inputs.libtensorflow / "include" / "tensorflow" / "c").is_dir():
        return inputs.libtensorflow / "include"
    return site / "tensorflow" / "include"


def _lib_dir(inputs: SmokeInputs, site: Path) -> Path:
    return inputs.libtensorflow or site / "tensorflow"


def _libraries(inputs: SmokeInputs, site: Path) -> list[Path]:
    lib_dir = _lib_dir(inputs, site)
    main = _library(lib_dir, "tensorflow") if inputs.libtensorflow else lib_dir / "libtensorflow_cc.so.2"
    if main is None or not main.exists():
        raise ConfigError(f"no TensorFlow C API library in {lib_dir}")
    libs = [main]
    framework = _library(lib_dir, "tensorflow_framework")
    if framework:
        libs.append(framework)
    return libs


def _compile(inputs: SmokeInputs, site: Path, work: Path, runner: Runner) -> Path:
    include = _include_dir(inputs, site)
    if not (include / "tensorflow" / "c" / "c_api.h").exists():
        raise SmokeTestFailed(f"no tensorflow/c/c_api.h under {include}",
                              hint="pass --libtensorflow DIR with an include/ directory")
    binary = work / "model_run"
    libs = _libraries(inputs, site)
    argv = [inputs.cc, f"-I{include}", str(RESOURCES / "model_run.c"), *map(str, libs),
            f"-Wl,-rpath,{libs[0].parent}", "-o", str(binary)]
    result = runner.run(argv, check=False, timeout=600)
    if not result.ok:
        raise SmokeTestFailed(f"compiling model_run.c failed\n{tail(result.output)}")
    return binary


def _run_c(profile, binary: Path, trained: dict, env: dict, work: Path, runner: Runner,
           input_op: str | None, output_op: str | None, linked: Path,
           report: Report) -> checks.Comparison:
    lib_dir = linked.parent
    outputs = work / "c_outputs.bin"
    argv = [str(binary), trained["frozen_graph"], input_op or trained["input_op"],
            output_op or trained["output_op"], str(work / "inputs.bin"), str(trained["batch"]),
            "28", "28", "1", str(outputs)]
    run_env = dict(env)
    run_env["LD_LIBRARY_PATH"] = ":".join(filter(None, [str(lib_dir), env.get("LD_LIBRARY_PATH")]))
    maps = work / "c_maps.txt"
    run_env["TFBUILD_SMOKE_MAPS"] = str(maps)
    result = runner.run(argv, env=run_env, check=False, timeout=600)
    loaded = _c_loaded(maps)
    report.data.setdefault("libraries", {})["c"] = [lib.real for lib in checks.tracked(loaded)]
    _check_tf_versions(profile, result.stdout, report, linked)
    if not result.ok:
        raise _failed(f"the C program failed (exit {result.returncode})\n"
                      f"{tail(result.stderr, 12)}", result.output,
                      hint="check the operation names (--input-op/--output-op)"
                      if result.returncode == 3 else "")
    library = checks.c_api_library(loaded)
    if library is None or library.real != os.path.realpath(linked):
        found = library.real if library else "no libtensorflow"
        raise SmokeTestFailed(f"the C program loaded {found}, not {linked} it was linked against",
                              hint="a libtensorflow earlier on LD_LIBRARY_PATH or in ld.so.cache "
                              "won; check the recorded environment")
    report.data["libraries"]["c_api"] = library.real
    _check_cuda_versions(profile, loaded, result.stderr.splitlines(), "the C program")
    comparison = checks.compare(checks.read_floats(work / "python_outputs.bin"),
                                checks.read_floats(outputs), trained["classes"])
    if not comparison.ok:
        raise SmokeTestFailed(f"C API outputs differ from Python's: max |diff| "
                              f"{comparison.max_abs_diff:.3e} (allowed {checks.ATOL:g}), classes "
                              f"agree {comparison.argmax_agree}/{comparison.count}")
    return comparison


def _check_tf_versions(profile, c_stdout: str, report: Report, linked: Path) -> None:
    """TF_Version() of the C library, Python's tf.__version__ and the profile's version agree:
    a libtensorflow of another build runs the graph too, and would pass the comparison."""
    c_version = checks.c_tf_version(c_stdout)
    python_version = report.data.get("tensorflow", {}).get("tf_version")
    wanted = profile.settings.tensorflow.version
    report.data.setdefault("tensorflow", {})["c_api_version"] = c_version
    problem = checks.version_disagreement(c=c_version, python=python_version, profile=wanted)
    if problem:
        raise SmokeTestFailed(f"{problem} (C library: {linked})",
                              hint="link the libtensorflow of the same build as the wheel: "
                              "`invoke build` puts both in dist/<profile>/, or pass "
                              "--libtensorflow DIR of that build")


def _c_loaded(maps: Path) -> list[checks.Loaded]:
    try:
        lines = maps.read_text().splitlines()
    except OSError:
        return []
    return [checks.Loaded(path, os.path.realpath(path)) for path in checks.mapped_paths(lines)]


def _print_report(report: Report) -> None:
    styles = {"ok": "green", "fail": "bold red", "skip": "dim"}
    console.table("smoke test", ["step", "status", "seconds", "detail"],
                  [[s.name, s.status, f"{s.seconds:.1f}", s.detail] for s in report.steps],
                  styles=[styles.get(s.status) for s in report.steps])
    for line in report.data.get("wheel_audit", {}).get("meaning", ()):
        console.note(f"wheel: {line}")


def smoke_test(profile_ref: str | None = None, *, source: str | None = None,
               overrides: Sequence[str] = (), wheel: str | None = None,
               libtensorflow: str | None = None, cc: str | None = None,
               input_op: str | None = None, output_op: str | None = None,
               keep: bool = False, json_output: bool = False) -> int:
    profile = resolve(profile_ref, overrides=overrides)
    result = run_smoke_test(profile, wheel=wheel, libtensorflow=libtensorflow, cc=cc,
                            input_op=input_op, output_op=output_op, keep=keep, source=source)
    if json_output:
        console.plain(json.dumps(result, indent=2))
    console.success("smoke test passed: Python and the C API agree")
    return 0
