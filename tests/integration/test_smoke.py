"""`invoke smoke-test` with the real tensorflow-cpu 2.18.1 wheel from PyPI and a real C
compiler: Python and the C API must agree. Each run has its own HOME, pip cache and temp dir,
and pip installs TensorFlow's dependencies from an index on loopback."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.helpers.cli import invoke
from tests.helpers.digits import write_mnist_npz
from tests.helpers.pip_index import IndexServer, build_simple_index, tiny_wheel
from tests.helpers.wheels import linux_only_wheel

ASSETS = Path(__file__).resolve().parents[2] / ".cache" / "test-assets"
TAG = f"cp{sys.version_info.major}{sys.version_info.minor}"
TRAIN_SCRIPT = (Path(__file__).resolve().parents[2] / "tfbuild" / "smoke" / "resources"
                / "train_and_export.py")


@pytest.fixture(scope="module")
def deps_index(tmp_path_factory):
    """TensorFlow's dependencies as a pip index on loopback: the smoke venv installs nothing
    from the network."""
    wheels = sorted((ASSETS / "tf-deps").glob("*.whl"))
    if not wheels:
        pytest.fail("test assets missing: run `bash scripts/test.sh` (it fetches them)")
    with IndexServer(build_simple_index(wheels, tmp_path_factory.mktemp("index"))) as server:
        yield server


DERIVED = {}  # tfbuild's derived caches (auditwheel verdicts by the wheel's sha256), per module


@pytest.fixture(scope="module", autouse=True)
def _derived_cache(tmp_path_factory):
    """One XDG_CACHE_HOME for this module's runs: TF's 250 MB wheel is audited once, not once
    per test (HOME, pip cache and temp dir stay each run's own)."""
    DERIVED["dir"] = tmp_path_factory.mktemp("xdg-cache")


def isolated_env(home: Path, tmp: Path) -> dict:
    """Its own HOME (no ~/.keras, no ~/.local/state/tfbuild), pip cache and temp dir; none of
    this machine's pip configuration (no config file, no PIP_* variable)."""
    env: dict = {k: None for k in os.environ if k.startswith("PIP_")}
    for path in (home / ".cache" / "pip", tmp):
        path.mkdir(parents=True, exist_ok=True)
    env.update(HOME=str(home), PIP_CACHE_DIR=str(home / ".cache" / "pip"), TMPDIR=str(tmp),
               PIP_CONFIG_FILE=os.devnull, TFBUILD_STATE_DIR=str(home / "state"),
               XDG_CACHE_HOME=str(DERIVED["dir"]))
    return env


def smoke(index: IndexServer, *args, env):
    proc = invoke(["smoke-test", "--profile", "cpu", "--set", f"mirrors.pip_index={index.url}",
                   "--set", "mirrors.allow_http=true", *args], env=env, timeout=900)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def result_from(proc) -> dict:
    text = proc.stdout
    start = text.index('{\n  "ok"')
    return json.loads(text[start:text.index("\n}\n", start) + 2])


@pytest.fixture(scope="module")
def kept_run(tf_wheel, libtensorflow_dir, deps_index, tmp_path_factory):
    """One full smoke-test with --keep in an empty HOME, taking what `invoke build` leaves in
    dist/<profile>/ (the wheel, libtensorflow.so.2 and SHA256SUMS); its work directory (a ~1 GB
    venv) is removed when the module's tests are done. The other tests of the C step reuse its
    venv and model rather than installing and training again (each run costs ~45 s)."""
    base = tmp_path_factory.mktemp("smoke")
    dist = base / "dist" / "cpu"
    dist.mkdir(parents=True)
    (dist / tf_wheel.name).symlink_to(tf_wheel)
    for lib in libtensorflow_dir.iterdir():
        (dist / lib.name).symlink_to(lib)
    (dist / "SHA256SUMS").write_text("".join(  # as `invoke build` writes it: checked first
        f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}\n" for p in sorted(dist.iterdir())))
    proc = smoke(deps_index, "--set", f"build.dist_dir={base / 'dist'}", "--keep", "--json",
                 env=isolated_env(base / "home", base / "tmp"))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = result_from(proc)
    yield proc, result, base
    shutil.rmtree(result["workdir"], ignore_errors=True)


def test_python_and_c_api_agree(kept_run, deps_index):
    proc, result, base = kept_run
    out = proc.stdout
    assert out.index("smoke-test environment") < out.index("+ ")  # environment printed first
    assert "TF_ENABLE_ONEDNN_OPTS=0" in out
    assert result["ok"] and [s["status"] for s in result["steps"]] == ["ok"] * 6
    assert result["steps"][0]["name"] == "wheel audit"
    assert result["wheel_audit"]["policy"] == "manylinux_2_17_x86_64"
    assert result["wheel_audit"]["external_libs"] == {}
    assert result["wheel_audit"]["glibc"] == "2.17"
    assert result["tensorflow"]["tf_version"] == "2.18.1"
    assert result["tensorflow"]["c_api_version"] == "2.18.1"  # TF_Version() of the C library
    assert result["tensorflow"]["built_with_cuda"] is False
    model = result["model"]
    assert model["accuracy"] >= 0.9 and model["dataset"] == "synthetic"  # HOME has no ~/.keras
    work = Path(result["workdir"])
    # --keep kept it, in tfbuild's own scratch dir (<state root>/tmp), not the shell's TMPDIR
    assert work.parent == base / "home" / "state" / "tmp"
    assert (work / "saved_model" / "saved_model.pb").exists()
    assert (work / "frozen_graph.pb").exists() and (work / "model_run").exists()
    comparison = result["comparison"]
    assert comparison["ok"] and comparison["argmax_agree"] == comparison["examples"] == 32
    assert comparison["max_abs_diff"] <= comparison["atol"] == 1e-5
    assert json.loads((work / "smoke-test.json").read_text())["ok"] is True
    assert any(f.startswith("numpy-") for f in deps_index.files_served())  # from loopback


def test_dist_artifacts_run_the_built_libtensorflow(kept_run, libtensorflow_dir):
    """From dist/<profile>/ without --libtensorflow, the C program runs the libtensorflow.so.2
    `invoke build` collected there (read back from its /proc/self/maps), not the wheel's
    libtensorflow_cc.so.2; both steps report what they loaded; the report lands in dist/."""
    _, result, base = kept_run
    c_libs = result["libraries"]["c"]
    assert str(libtensorflow_dir / "libtensorflow.so.2") in c_libs, c_libs
    assert str(libtensorflow_dir / "libtensorflow_framework.so.2") in c_libs, c_libs
    assert not any("site-packages" in lib for lib in c_libs), c_libs
    python_libs = result["libraries"]["python"]
    assert any(lib.endswith("site-packages/tensorflow/libtensorflow_framework.so.2")
               for lib in python_libs), python_libs
    assert any(lib.endswith("_pywrap_tensorflow_internal.so") for lib in python_libs)
    c_step = next(s for s in result["steps"] if s["name"] == "C API run + compare")
    assert c_step["detail"].endswith(f"C API from {libtensorflow_dir / 'libtensorflow.so.2'}")
    assert result["libraries"]["c_api"] == str(libtensorflow_dir / "libtensorflow.so.2")
    report = json.loads((base / "dist" / "cpu" / "smoke-test.json").read_text())
    assert report["libraries"]["c"] == c_libs


def c_step(kept_run, work: Path, library_dir: Path | None, *, input_op: str | None = None):
    """The smoke test's C steps as it runs them (inputs resolved from the flags, model_run.c
    compiled, run on the kept run's frozen graph and compared), reusing its venv and model."""
    from tfbuild.runner import Runner
    from tfbuild.settings import resolve
    from tfbuild.smoke import task as smoke_task

    _, result, _ = kept_run
    kept = Path(result["workdir"])
    runner = Runner(echo=False)
    venv_python = str(kept / "venv" / "bin" / "python")
    profile = resolve("cpu")
    inputs = smoke_task.resolve_inputs(
        profile, wheel=result["wheel"], libtensorflow=str(library_dir) if library_dir else None,
        cc="gcc", runner=runner, python=venv_python)
    site = smoke_task._site_packages(venv_python, runner)
    work.mkdir()
    for name in ("inputs.bin", "python_outputs.bin"):
        (work / name).symlink_to(kept / name)
    binary = smoke_task._compile(inputs, site, work, runner)
    report = smoke_task.Report(data={"tensorflow": {"tf_version": "2.18.1"}})
    smoke_task._run_c(profile, binary, result["model"], {"PATH": "/usr/bin:/bin"}, work, runner,
                      input_op, None, smoke_task._libraries(inputs, site)[0], report)
    return report


def test_wheel_alone_runs_the_wheels_c_api_library(kept_run, tmp_path):
    """--wheel without --libtensorflow: the C program runs the wheel's libtensorflow_cc.so.2."""
    report = c_step(kept_run, tmp_path / "c", None)
    assert report.data["libraries"]["c_api"].endswith(
        "site-packages/tensorflow/libtensorflow_cc.so.2")


def test_mnist_from_keras_datasets_is_used_when_there(kept_run, tmp_path):
    """The training script reads ~/.keras/datasets/mnist.npz when its HOME has one (a file in
    MNIST's layout, written by the test) and reports the dataset as mnist."""
    _, result, _ = kept_run
    home = tmp_path / "home-with-mnist"
    write_mnist_npz(home / ".keras" / "datasets" / "mnist.npz")
    python = Path(result["workdir"]) / "venv" / "bin" / "python"
    work = tmp_path / "work"
    work.mkdir()
    proc = subprocess.run([str(python), str(TRAIN_SCRIPT), "--workdir", str(work)],
                          env={"PATH": os.environ["PATH"], "HOME": str(home),
                               "TF_ENABLE_ONEDNN_OPTS": "0"},
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    trained = json.loads(proc.stdout.strip().splitlines()[-1])
    assert trained["dataset"] == "mnist" and trained["train_examples"] == 2000
    assert trained["accuracy"] >= 0.9


@pytest.fixture(scope="module")
def libtensorflow_dir(tf_wheel, tmp_path_factory) -> Path:
    """A libtensorflow directory shaped like TF's build output (libtensorflow.so.2 and
    libtensorflow_framework.so.2), made of the PyPI wheel's C API libraries (SONAME set with
    patchelf, as the real libtensorflow.so.2 has its own)."""
    out = tmp_path_factory.mktemp("libtensorflow")
    with zipfile.ZipFile(tf_wheel) as archive:
        for member, name in (("tensorflow/libtensorflow_cc.so.2", "libtensorflow.so.2"),
                             ("tensorflow/libtensorflow_framework.so.2",
                              "libtensorflow_framework.so.2")):
            with archive.open(member) as src, open(out / name, "wb") as dst:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
    subprocess.run(["patchelf", "--set-soname", "libtensorflow.so.2",
                    str(out / "libtensorflow.so.2")], check=True)
    return out


def test_libtensorflow_dir_and_a_wrong_input_name(kept_run, libtensorflow_dir, tmp_path):
    from tfbuild.errors import SmokeTestFailed

    with pytest.raises(SmokeTestFailed) as failed:
        c_step(kept_run, tmp_path / "c", libtensorflow_dir, input_op="serving_input")
    message = str(failed.value) + failed.value.hint
    assert "input operation 'serving_input' not found" in message
    assert "operations of type Placeholder in the graph: input" in message
    assert "--input-op" in message
    maps = (tmp_path / "c" / "c_maps.txt").read_text()
    assert str(libtensorflow_dir / "libtensorflow.so.2") in maps  # linked against the given dir


def test_a_c_library_of_another_tensorflow_fails_naming_both_versions(
        kept_run, libtensorflow_dir, tmp_path):
    """A libtensorflow of another build runs the graph as well and would pass the comparison:
    the smoke test's C step compares TF_Version() with Python's tf.__version__. The other build
    is the wheel's own library with its one TF_VERSION_STRING ("2.18.1", the constant
    TF_Version() returns) changed in place to "2.17.9". The step runs as the smoke test runs it
    (compile model_run.c against that library, run the kept run's frozen graph), reusing the
    kept run's venv and model instead of training again."""
    from tfbuild.errors import SmokeTestFailed

    other = tmp_path / "libtensorflow-2.17.9"
    other.mkdir()
    data = (libtensorflow_dir / "libtensorflow.so.2").read_bytes()
    assert data.count(b"2.18.1\x00") == 1
    (other / "libtensorflow.so.2").write_bytes(data.replace(b"2.18.1\x00", b"2.17.9\x00"))
    del data
    (other / "libtensorflow_framework.so.2").symlink_to(
        libtensorflow_dir / "libtensorflow_framework.so.2")
    with pytest.raises(SmokeTestFailed) as failed:
        c_step(kept_run, tmp_path / "c", other)
    message = str(failed.value) + failed.value.hint
    assert "the C library is TensorFlow 2.17.9 but Python imported TensorFlow 2.18.1" in message
    assert str(other / "libtensorflow.so.2") in message and "--libtensorflow" in message


def test_bad_inputs_fail_fast_with_clear_errors(tf_wheel, tmp_path, libtensorflow_dir,
                                                deps_index):
    env = isolated_env(tmp_path / "home", tmp_path / "tmp")
    proc = smoke(deps_index, "--wheel", str(tmp_path / "missing.whl"), env=env)
    assert proc.returncode == 2 and "does not exist" in proc.stderr
    for tag in ("cp312-cp312-manylinux_2_17_x86_64", "cp311-cp311-macosx_12_0_arm64"):
        other = tmp_path / f"tensorflow_cpu-2.18.1-{tag}.whl"
        other.symlink_to(tf_wheel)
        proc = smoke(deps_index, "--wheel", str(other), env=env)
        assert proc.returncode == 2 and "cannot be installed here" in proc.stderr, proc.stderr
        assert tag in proc.stderr
    proc = smoke(deps_index, "--wheel", str(tf_wheel), "--cc", "/nonexistent/gcc", env=env)
    assert proc.returncode == 3 and "no C compiler" in proc.stderr
    empty = tmp_path / "lib"
    empty.mkdir()
    proc = smoke(deps_index, "--wheel", str(tf_wheel), "--libtensorflow", str(empty), env=env)
    assert proc.returncode == 2 and "no libtensorflow.so* in" in proc.stderr
    proc = smoke(deps_index, "--set", f"build.dist_dir={tmp_path / 'dist'}", env=env)
    assert proc.returncode == 2 and "no wheel in" in proc.stderr and "invoke build" in proc.stderr


def test_the_wheel_audit_row_names_what_a_linux_only_wheel_needs(tmp_path):
    """A real wheel whose module needs libcudart.so.12 (not on the loader path) and libgomp: no
    manylinux policy fits. The audit is informative; the smoke test then fails on this stand-in
    (it is not TensorFlow), with the table printed."""
    wheel = linux_only_wheel(tmp_path)
    proc = invoke(["smoke-test", "--profile", "cpu", "--wheel", str(wheel), "--set",
                   f"toolchain.python={sys.executable}"],
                  env=isolated_env(tmp_path / "home", tmp_path / "tmp"), timeout=900)
    assert proc.returncode == 7
    # the only traceback is the stand-in's own, quoted in the failed step's message
    assert proc.stderr.count("Traceback") == 1
    assert proc.stderr.index("import tensorflow failed") < proc.stderr.index("Traceback")
    row = next(line for line in proc.stdout.splitlines() if "wheel audit" in line)
    assert " ok " in row
    assert "linux_x86_64, glibc >= " in row
    assert "libcudart.so.12 (not found here), libgomp.so.1" in row
    assert "wheel: only linux_x86_64: no manylinux policy fits" in proc.stdout
    assert "must provide libcudart.so.12, libgomp.so.1" in proc.stdout


def test_a_failing_auditwheel_is_a_warning_not_a_crash(tmp_path, deps_index):
    broken = tmp_path / f"tensorflow-2.18.1-{TAG}-{TAG}-linux_x86_64.whl"
    broken.write_text("not a zip file")
    proc = smoke(deps_index, "--wheel", str(broken), "--set", f"toolchain.python={sys.executable}",
                 env=isolated_env(tmp_path / "home", tmp_path / "tmp"))
    assert proc.returncode == 7  # pip cannot install it either
    assert "warning: wheel not audited: auditwheel failed (exit 1)" in proc.stderr
    assert "File is not a zip file" in proc.stderr
    row = next(line for line in proc.stdout.splitlines() if "wheel audit" in line)
    assert " skip " in row


# -- README claims -------------------------------------------------------------------------------
def test_cuda_profile_refuses_a_wheel_built_without_cuda(tf_wheel, deps_index, tmp_path):
    """The real tensorflow-cpu wheel is built without CUDA: a CUDA profile's smoke-test says so
    from the wheel's own build_info, before minutes of installing it."""
    proc = invoke(["smoke-test", "--profile", "cuda-local", "--wheel", str(tf_wheel),
                   "--set", f"mirrors.pip_index={deps_index.url}", "--set", "mirrors.allow_http=true",
                   "--set", f"toolchain.python={sys.executable}"],
                  env=isolated_env(tmp_path / "home", tmp_path / "tmp"), timeout=900)
    assert proc.returncode == 7, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "the wheel was built without CUDA but the profile has CUDA" in proc.stderr
    assert "build_info.py says is_cuda_build False" in proc.stderr
    assert "virtual environment" not in proc.stdout.split("smoke-test environment", 1)[1]
    assert "Traceback" not in proc.stderr


def test_another_tensorflow_distribution_in_the_venv_fails(tmp_path):
    """A wheel whose requirements pull in another TensorFlow distribution (tf-nightly here):
    the install step fails naming both."""
    wheels = tmp_path / "wheels"
    nightly = tiny_wheel(wheels, "tf-nightly", "2.19.0.dev20241001")
    wheel = tiny_wheel(tmp_path / "dist", "tensorflow", "2.18.1", requires=("tf-nightly",))
    with IndexServer(build_simple_index([nightly], tmp_path / "index")) as index:
        proc = smoke(index, "--wheel", str(wheel), "--set", f"toolchain.python={sys.executable}",
                     env=isolated_env(tmp_path / "home", tmp_path / "tmp"))
    assert proc.returncode == 7, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "the environment holds TensorFlow distributions" in proc.stderr
    assert "tf-nightly" in proc.stderr and "tensorflow" in proc.stderr


def test_smoke_test_json_is_written_to_dist_profile(tmp_path):
    """With the wheel taken from dist/<profile>/, the report lands there too (here a wheel that
    installs but is no TensorFlow, so the import step fails and the report says so)."""
    dist = tmp_path / "dist"
    wheel = tiny_wheel(dist / "cpu", "tensorflow", "2.18.1")
    (dist / "cpu" / "SHA256SUMS").write_text(  # as `invoke build` writes it: checked first
        f"{hashlib.sha256(wheel.read_bytes()).hexdigest()}  {wheel.name}\n")
    with IndexServer(build_simple_index([], tmp_path / "index")) as index:
        proc = invoke(["smoke-test", "--profile", "cpu", "--set", f"build.dist_dir={dist}",
                       "--set", f"mirrors.pip_index={index.url}", "--set", "mirrors.allow_http=true",
                       "--set", f"toolchain.python={sys.executable}"],
                      env=isolated_env(tmp_path / "home", tmp_path / "tmp"), timeout=900)
    assert proc.returncode == 7, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "import tensorflow failed" in proc.stderr  # the script's own traceback follows
    assert list((tmp_path / "home" / "state" / "tmp").iterdir()) == []  # no --keep: work dir gone
    report = json.loads((dist / "cpu" / "smoke-test.json").read_text())
    assert report["ok"] is False and report["wheel"] == str(wheel)
    steps = {s["name"]: s["status"] for s in report["steps"]}
    assert steps["virtual environment + wheel"] == "ok" and steps["import tensorflow"] == "fail"
