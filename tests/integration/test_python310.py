"""tfbuild on the notes' own Python, 3.10 (issue 31 item 1): it installs there (`tomli` in place
of 3.11's `tomllib`), its fast tier passes there, and doctor, configure and a real Bazel build
of the tests' TF-shaped workspace run there. scripts/test.sh makes .venv310 from `python3.10`
with `pip install -e .[test]`, as README command 1 does for a user."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.helpers.cli import LOOPBACK_ONLY, ROOT
from tests.helpers.profiles import fixture_wheel, local_bazel_profile

VENV = ROOT / ".venv310"
PYTHON = VENV / "bin" / "python"


@pytest.fixture(scope="module")
def python310() -> str:
    if not PYTHON.is_file():
        pytest.fail("no .venv310: run `bash scripts/test.sh`, which makes it from python3.10")
    version = subprocess.run([str(PYTHON), "-c", "import sys; print(sys.version_info[:2])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    assert version == "(3, 10)", version
    return str(PYTHON)


def env_for(ws: dict) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TFBUILD_", "PYTHON"))}
    env.update({"TFBUILD_COLOR": "0", **ws["env"]})
    env.update({k: v for k, v in LOOPBACK_ONLY.items() if v is not None})
    return env


def test_the_fast_tier_passes_under_python_310(python310):
    proc = subprocess.run([python310, "-m", "pytest", "-m", "unit", "-q", "-p", "no:cacheprovider",
                           "tests/unit"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout and "failed" not in proc.stdout


def test_doctor_configure_and_build_run_under_python_310(python310, tf_workspace):
    ws = tf_workspace
    # the notes' Python runs tfbuild and is the one the build is for (toolchain.python)
    path = ws["source"].parent / "py310.toml"
    local_bazel_profile(path, output_root=ws["root"], dist=ws["source"].parent / "dist")
    path.write_text(path.read_text().replace(f'python = "{sys.executable}"',
                                             f'python = "{python310}"'))
    profile = str(path)
    tfbuild = str(VENV / "bin" / "tfbuild")
    env = env_for(ws)
    for args in (["doctor", "--offline", "--profile", profile, "--source", str(ws["source"])],
                 ["configure", "--profile", profile, "--source", str(ws["source"])],
                 ["build", "--profile", profile, "--source", str(ws["source"])]):
        proc = subprocess.run([tfbuild, *args], env=env, capture_output=True, text=True,
                              timeout=900)
        assert "Traceback" not in proc.stderr, proc.stderr
        assert proc.returncode in ((0, 1) if args[0] == "doctor" else (0,)), (
            args[0], proc.stdout[-3000:], proc.stderr[-3000:])
    manifest = json.loads((ws["source"].parent / "dist" / "py310" / "manifest.json").read_text())
    assert manifest["toolchain"]["python"]["path"] == python310
    assert manifest["toolchain"]["python"]["version"].startswith("3.10.")
    assert len(manifest["artifacts"]) == 5
    # the wheel is named for the Python it is built for, as TF's (HERMETIC_PYTHON_VERSION)
    assert fixture_wheel("3.10") in {a["name"] for a in manifest["artifacts"]}
    rc = (ws["source"] / ".tf_configure.bazelrc").read_text()
    assert f'PYTHON_BIN_PATH="{python310}"' in rc, rc
