"""`invoke install`: the wheel a real Bazel build of the tests' TF-shaped tree put in
dist/<profile>/ goes into a fresh venv that then imports it (issue 31 item 3); a tampered wheel,
an interpreter that is not one, a dist without a build and NVIDIA's pip packages in a CUDA
profile's Python are refused with the fix. Doctor names those packages with the uninstall line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.helpers.bazel import shutdown
from tests.helpers.cli import checks_by_id, doctor_json, invoke
from tests.helpers.profiles import fixture_wheel, local_bazel_profile

WHEEL = fixture_wheel()  # the tree's wheel, for this Python
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "tfshaped"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict:
    """One real build of the TF-shaped tree: its dist/<profile>/ and the profile that made it."""
    base = tmp_path_factory.mktemp("built")
    source = base / "tensorflow"
    shutil.copytree(FIXTURE, source, symlinks=True)
    root = base / "bazel-root"
    profile = local_bazel_profile(base / "tfs.toml", output_root=root, dist=base / "dist")
    env = {"TFBUILD_STATE_DIR": str(base / "state")}
    proc = invoke(["build", "--profile", profile, "--source", str(source)], env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    yield {"profile": profile, "dist": base / "dist" / "tfs", "env": env, "source": source}
    shutdown(source, root)


def fresh_venv(path: Path) -> str:
    venv.EnvBuilder(with_pip=True).create(path)
    return str(path / "bin" / "python")


def plant_nvidia(python: str, name: str = "nvidia_cudnn_cu12", version: str = "9.3.0.75") -> None:
    """A distribution as pip records one (dist-info METADATA), as `tensorflow[and-cuda]`
    leaves nvidia-cudnn-cu12 behind; its files do not matter to the check."""
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    info = Path(site) / f"{name}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name.replace('_', '-')}\n"
                                   f"Version: {version}\n")
    (info / "RECORD").write_text("")


def install(built, *args, env=None):
    proc = invoke(["install", "--profile", built["profile"], "--source", str(built["source"]),
                   *args], env={**built["env"], **(env or {})})
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def test_the_built_wheel_goes_into_a_fresh_venv_that_imports_it(built, tmp_path):
    python = fresh_venv(tmp_path / "venv")
    # a name looked up on PATH, as `--python python3.10` is: the venv's bin first on PATH
    proc = install(built, "--python", "python3",
                   env={"PATH": f"{tmp_path / 'venv' / 'bin'}:{os.environ['PATH']}"})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert f"tensorflow 2.18.1 installed into {tmp_path / 'venv' / 'bin' / 'python3'}" in \
        proc.stdout
    imported = subprocess.run([python, "-c", "import tensorflow, sys; "
                               "print(tensorflow.__version__, tensorflow.__file__)"],
                              capture_output=True, text=True, cwd=tmp_path)
    version, where = imported.stdout.split()
    assert version == "2.18.1" and where.startswith(str(tmp_path / "venv")), imported


def test_without_python_it_installs_into_the_python_configure_recorded(built, tmp_path):
    """configure records the profile's interpreter (PYTHON_BIN_PATH of the run environment);
    install without --python puts the wheel there, not into the Python running tfbuild."""
    python = fresh_venv(tmp_path / "venv")
    profile = tmp_path / "tfs.toml"  # the same profile name, so the same dist/tfs
    profile.write_text(Path(built["profile"]).read_text().replace(
        f'python = "{sys.executable}"', f'python = "{python}"'))
    configured = invoke(["configure", "--profile", str(profile), "--source", str(built["source"])],
                        env=built["env"])
    assert configured.returncode == 0, configured.stdout[-2000:] + configured.stderr[-2000:]
    state = Path(built["env"]["TFBUILD_STATE_DIR"])
    recorded = json.loads(next(state.glob("*/environment.json")).read_text())
    assert recorded["PYTHON_BIN_PATH"] == python
    proc = invoke(["install", "--profile", str(profile), "--source", str(built["source"])],
                  env=built["env"])
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert f"installed into {python}" in proc.stdout
    imported = subprocess.run([python, "-c", "import tensorflow; print(tensorflow.__version__)"],
                              capture_output=True, text=True, cwd=tmp_path)
    assert imported.stdout.strip() == "2.18.1"


def test_a_tampered_wheel_is_refused(built, tmp_path):
    dist = tmp_path / "dist" / "tfs"
    shutil.copytree(built["dist"], dist, symlinks=True)
    wheel = next(dist.glob("*.whl"))
    data = bytearray(wheel.read_bytes())
    data[-100] ^= 0xFF
    wheel.unlink()
    wheel.write_bytes(bytes(data))
    python = fresh_venv(tmp_path / "venv")
    proc = install(built, "--python", python, "--set", f"build.dist_dir={tmp_path / 'dist'}")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert wheel.name in proc.stderr and "SHA256SUMS" in proc.stderr
    listed = subprocess.run([python, "-m", "pip", "list"], capture_output=True, text=True)
    assert "tensorflow" not in listed.stdout  # nothing was installed


def test_bad_python_and_missing_build_are_clear_errors(built, tmp_path):
    not_python = tmp_path / "script.sh"
    not_python.write_text("#!/bin/sh\nexit 0\n")
    not_python.chmod(0o755)
    for given, words in ((str(tmp_path), "not an executable file"),
                         (str(not_python), "not a Python interpreter"),
                         (str(tmp_path / "missing"), "not an executable file")):
        proc = install(built, "--python", given)
        assert proc.returncode == 2, (given, proc.stderr)
        assert words in proc.stderr and "--python" in proc.stderr
    proc = install(built, "--python", sys.executable, "--set",
                   f"build.dist_dir={tmp_path / 'empty-dist'}")
    assert proc.returncode == 3
    assert "no wheel in" in proc.stderr and "invoke build --profile tfs" in proc.stderr


def test_nvidia_pip_packages_are_refused_for_a_cuda_profile_and_named_by_doctor(built, tmp_path):
    python = fresh_venv(tmp_path / "venv")
    plant_nvidia(python)
    gpu = tmp_path / "gpu.toml"  # the same build's dist, as a CUDA profile's
    gpu.write_text(f'extends = "cuda-local"\n[toolchain]\npython = "{python}"\n'
                   f'[build]\ndist_dir = "{tmp_path / "dist"}"\n')
    shutil.copytree(built["dist"], tmp_path / "dist" / "gpu", symlinks=True)
    line = f"{python} -m pip uninstall -y nvidia-cudnn-cu12"
    proc = invoke(["install", "--profile", str(gpu), "--python", python], env=built["env"])
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "nvidia-cudnn-cu12 9.3.0.75" in proc.stderr and line in proc.stderr
    assert "--keep-nvidia" in proc.stderr
    kept = invoke(["install", "--profile", str(gpu), "--python", python, "--keep-nvidia"],
                  env=built["env"])
    assert kept.returncode == 0, kept.stdout[-2000:] + kept.stderr[-2000:]
    assert "kept: --keep-nvidia" in kept.stderr
    _, doc = doctor_json(["--profile", str(gpu)])
    row = checks_by_id(doc)["python.nvidia_packages"]
    assert row["status"] == "warn" and "nvidia-cudnn-cu12 9.3.0.75" in row["found"]
    assert line in row["hint"]


def test_a_failing_pip_is_a_failure_with_its_own_words(built, tmp_path):
    """pip's non-zero exit reaches the user as tfbuild's (exit 4, a command failed), with pip's
    last lines: here an interpreter whose venv has no pip."""
    venv.EnvBuilder(with_pip=False).create(tmp_path / "bare")
    python = str(tmp_path / "bare" / "bin" / "python")
    proc = install(built, "--python", python)
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert f"pip could not install {WHEEL} into {python}" in proc.stderr
    assert "No module named pip" in proc.stdout + proc.stderr
