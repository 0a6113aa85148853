"""tfbuild as a user gets it: `pip wheel .`, the wheel installed (not editable) into a fresh
venv, and the `tfbuild` command run from directories that have nothing to do with the checkout,
each task finding its templates, patches, profiles and docker files in the installed package."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.helpers.cli import ROOT


def run(argv, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=300, **kwargs)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict:
    """A fresh venv holding the built wheel; the dependencies come from the test venv through
    a plain path line in a .pth (not processed as a site dir, so the checkout's editable
    install stays out of it)."""
    base = tmp_path_factory.mktemp("install")
    # A copy of the checkout: setuptools' build/ directory would otherwise stay in the checkout
    # and carry modules deleted since into later wheels.
    tree = base / "tfbuild-src"
    top_level = {".git", ".venv", ".cache", "build", "dist", "tfbuild.egg-info", ".pytest_cache"}
    shutil.copytree(ROOT, tree, symlinks=True, ignore=lambda d, names: [
        n for n in names if n == "__pycache__" or (Path(d) == ROOT and n in top_level)])
    wheels = base / "wheels"
    proc = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels),
                str(tree)])
    assert proc.returncode == 0, proc.stderr
    (wheel,) = wheels.glob("tfbuild-*.whl")
    venv = base / "venv"
    proc = run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    assert proc.returncode == 0, proc.stderr
    site = Path(run([str(venv / "bin" / "python"), "-c",
                     "import sysconfig; print(sysconfig.get_path('purelib'))"]).stdout.strip())
    (site / "zz-test-deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    proc = run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install",
                "--no-deps", "--no-index", "-q", str(wheel)])
    assert proc.returncode == 0, proc.stderr
    home = base / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TFBUILD_")}
    env.update({"HOME": str(home), "TFBUILD_COLOR": "0",
                "TFBUILD_STATE_DIR": str(base / "state"), "XDG_CACHE_HOME": str(base / "xdg")})
    return {"bin": venv / "bin" / "tfbuild", "python": venv / "bin" / "python", "site": site,
            "env": env, "elsewhere": home}


def tfbuild(inst: dict, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    proc = run([str(inst["bin"]), *args], cwd=cwd or inst["elsewhere"], env=inst["env"])
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def test_the_installed_package_is_the_wheel_not_the_checkout(installed):
    proc = run([str(installed["python"]), "-c", "import tfbuild; print(tfbuild.__file__)"],
               cwd=installed["elsewhere"], env=installed["env"])
    assert Path(proc.stdout.strip()).parent == installed["site"] / "tfbuild", proc.stderr
    for name in ("templates", "patches", "profiles", "docker"):
        shipped = installed["site"] / "tfbuild" / "resources" / name
        assert shipped.is_dir() and not shipped.is_symlink()


def test_version_and_list(installed):
    assert tfbuild(installed, "--version").stdout.strip() == "tfbuild 0.1.0"
    listing = tfbuild(installed, "--list").stdout
    for name in ("doctor", "configure", "patch", "build", "smoke-test", "docker-build"):
        assert name in listing


def test_profiles_are_the_shipped_ones(installed):
    proc = tfbuild(installed, "profiles")
    assert proc.returncode == 0, proc.stderr
    for name in ("cpu", "cuda-local", "rtx3050", "a100", "h100", "rtx4090"):
        assert name in proc.stdout


def test_doctor_offline_json_names_the_source_and_why(installed, tmp_path):
    proc = tfbuild(installed, "doctor", "--offline", "--json", "--source", str(tmp_path / "tf"))
    checks = {c["id"]: c for c in json.loads(proc.stdout)["checks"]}
    assert "taken from --source" in checks["source"]["found"]


@pytest.fixture
def tf_tree(tf_workspace, installed):
    installed["env"]["TFBUILD_STATE_DIR"] = str(tf_workspace["state"])
    profile = tf_workspace["source"].parent / "profile.toml"
    profile.write_text(f'extends = "cpu"\n[build]\noutput_user_root = "{tf_workspace["root"]}"\n')
    return tf_workspace["source"], str(profile)


def test_configure_in_a_tf_tree_renders_the_shipped_template(installed, tf_tree):
    source, profile = tf_tree
    proc = tfbuild(installed, "configure", "--profile", profile, "--force", cwd=source)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "build --action_env" in (source / ".tf_configure.bazelrc").read_text()


def test_patch_check_reads_the_shipped_patches(installed, tf_tree):
    source, profile = tf_tree
    proc = tfbuild(installed, "patch", "--check", "--profile", profile, "--source", str(source))
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    assert "download-mirror" in proc.stdout + proc.stderr


def test_docker_build_dry_run_renders_the_shipped_dockerfile(installed):
    proc = tfbuild(installed, "docker-build", "--profile", "a100", "--dry-run")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "docker build --network=host --tag" in proc.stdout
    assert "podman build --format docker --network=host --tag" in proc.stdout
    context = Path(installed["env"]["XDG_CACHE_HOME"]) / "tfbuild" / "docker" / "a100"
    assert "FROM " in (context / "Dockerfile").read_text()
    assert (context / "install_cuda_redist.py").is_file()
    assert (context / "install_cuda_wheels.py").is_file()  # both CUDA sources ship


def test_doctor_standing_in_a_tf_tree_takes_it_and_says_so(installed, tf_tree):
    source, profile = tf_tree
    proc = tfbuild(installed, "doctor", "--offline", "--json", "--profile", profile, cwd=source)
    row = {c["id"]: c for c in json.loads(proc.stdout)["checks"]}["source"]
    assert row["found"].startswith(f"{source} (taken from the current directory")
