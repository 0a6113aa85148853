"""What reaches Bazel's cache keys (tfbuild.cachekeys), doctor's build.cache_keys row and the
key verdict of `manifest --diff`, over hand-written rc text, facts and manifests."""

import dataclasses

from tests.helpers.facts import healthy_facts
from tfbuild import cachekeys, environment
from tfbuild.cachekeys import Places
from tfbuild.discovery.facts import Python
from tfbuild.doctor.checks import run_checks
from tfbuild.settings import resolve

PLACES = Places(homes=("/home/ann", "/home/", "/root/"), temp=("/tmp",),
                venvs=("/home/ann/tfb-venv",), state=("/home/ann/.local/state/tfbuild",),
                checkout=("/srv/ann/tensorflow",))

# The shape configure.py writes (TF 2.18 configure.py: `build --action_env NAME="value"`,
# `build --python_path="..."`), from the venv of whoever ran it.
FOREIGN_RC = '''build --action_env PYTHON_BIN_PATH="/home/ann/tfb-venv/bin/python3"
build --action_env PYTHON_LIB_PATH="/home/ann/tfb-venv/lib/python3.11/site-packages"
build --python_path="/home/ann/tfb-venv/bin/python3"
build:cuda --repo_env LOCAL_CUDA_PATH="/home/ann/.local/state/tfbuild/tf-1/cuda-shim"
build --action_env PATH="/home/ann/.cargo/bin:/usr/bin:/bin"
build --copt=-Wno-gnu-offsetof-extensions
test --test_env=LD_LIBRARY_PATH
'''


def test_rc_lines_and_options_are_classified_by_what_they_reach():
    inputs = cachekeys.from_rc(FOREIGN_RC) + cachekeys.from_options(
        ["--local_cpu_resources=2", "--disk_cache=/home/ann/.cache/dc", "--remote_cache=grpc://x:1",
         "--repo_env=WHEEL_NAME=tensorflow", "--config=cuda_wheel", "--copt=-I/tmp/inc",
         "--color=no"])
    texts = {i.text: i.reach for i in inputs}
    assert texts == {
        "build --action_env=PYTHON_BIN_PATH=/home/ann/tfb-venv/bin/python3": "action",
        "build --action_env=PYTHON_LIB_PATH=/home/ann/tfb-venv/lib/python3.11/site-packages": "action",
        "build --python_path=/home/ann/tfb-venv/bin/python3": "action",
        "build:cuda --repo_env=LOCAL_CUDA_PATH=/home/ann/.local/state/tfbuild/tf-1/cuda-shim": "repository",
        "build --action_env=PATH=/home/ann/.cargo/bin:/usr/bin:/bin": "action",
        "build --copt=-Wno-gnu-offsetof-extensions": "action",
        "build --repo_env=WHEEL_NAME=tensorflow": "repository",
        "build --copt=-I/tmp/inc": "action",
    }  # the test line, the disk/remote cache, jobs, --config and UI options are not keys


def test_machine_specific_values_are_named_with_the_key_to_change():
    found = cachekeys.machine_specific(cachekeys.from_rc(FOREIGN_RC), PLACES)
    by_path = {f.path: f for f in found}
    assert set(by_path) == {"/home/ann/tfb-venv/bin/python3",
                            "/home/ann/tfb-venv/lib/python3.11/site-packages",
                            "/home/ann/.local/state/tfbuild/tf-1/cuda-shim", "/home/ann/.cargo/bin"}
    python = by_path["/home/ann/tfb-venv/bin/python3"]
    assert python.kinds == ("a home directory", "a virtual environment")
    assert python.key == "toolchain.python"
    assert by_path["/home/ann/.local/state/tfbuild/tf-1/cuda-shim"].kinds == (
        "a home directory", "tfbuild's state dir")
    assert by_path["/home/ann/.cargo/bin"].key.startswith("toolchain.clang_prefix")


def test_urls_labels_and_shared_paths_are_not_machine_specific():
    rc = ('build --repo_env PIP_INDEX_URL="https://pypi.example/simple"\n'
          'build --action_env PATH="/opt/llvm-17/bin:/usr/bin:/bin"\n')
    inputs = cachekeys.from_rc(rc) + cachekeys.from_options(["--config=cuda_wheel"])
    assert cachekeys.machine_specific(inputs, PLACES) == []


def _rows(facts, profile="cpu", overrides=()):
    settings = resolve(profile, env={}, overrides=overrides).settings
    return {r.id: r for r in run_checks(settings, facts)}


def test_doctor_row_ok_for_a_system_python_and_shared_toolchain():
    facts = healthy_facts(key_places=PLACES)
    row = _rows(facts)["build.cache_keys"]
    assert row.status == "ok", row.found
    assert "none user- or machine-specific" in row.found


def test_doctor_row_names_a_venv_python_and_the_key_to_change():
    venv_python = Python("/home/ann/tfb-venv/bin/python3", "3.11.4",
                         "/home/ann/tfb-venv/bin/python3",
                         ("/home/ann/tfb-venv/lib/python3.11/site-packages",))
    row = _rows(healthy_facts(key_places=PLACES, python=venv_python))["build.cache_keys"]
    assert row.status == "warn" and not row.blocking
    assert "PYTHON_BIN_PATH=/home/ann/tfb-venv/bin/python3" in row.found
    assert "a virtual environment" in row.found
    assert "toolchain.python" in row.hint and "Sharing builds with a team" in row.hint


def test_doctor_row_flags_bazel_options_under_a_temp_dir():
    row = _rows(healthy_facts(key_places=PLACES),
                overrides=['build.bazel_options=["--copt=-I/tmp/x"]'])["build.cache_keys"]
    assert row.status == "warn" and "--copt=-I/tmp/x" in row.found
    assert "build.bazel_options" in row.hint


def test_action_path_is_made_from_the_toolchain_not_the_shell():
    facts = healthy_facts(path=("/home/ann/tfb-venv/bin", "/home/ann/.cargo/bin", "/usr/bin"))
    other = dataclasses.replace(facts, path=("/usr/bin",))
    assert environment.action_path(facts) == environment.action_path(other)
    assert "/home/ann" not in environment.action_path(facts)
    assert environment.action_path(facts).endswith(":".join(environment.SYSTEM_PATH))


def _manifest(rc: str, options=(), **toolchain):
    inputs = cachekeys.from_rc(rc) + cachekeys.from_options(options)
    base = {"clang": {"path": "/usr/lib/llvm-17/bin/clang", "version": "17.0.6"},
            "bazel": {"path": "/usr/bin/bazel", "version": "6.5.0"},
            "python": {"path": "/usr/bin/python3", "version": "3.11.2"}}
    base.update(toolchain)
    return {"cache_keys": {"inputs": [i.as_dict() for i in inputs]}, "toolchain": base}


def test_compare_ignores_where_results_are_kept():
    rc = 'build --action_env PATH="/usr/bin:/bin"\n'
    a = _manifest(rc, ["--disk_cache=/home/ann/dc", "--local_cpu_resources=16"],
                  bazel={"path": "/home/ann/bin/bazelisk", "version": "6.5.0"})
    b = _manifest(rc, ["--disk_cache=/home/bob/dc", "--local_cpu_resources=4"])
    assert cachekeys.compare(a, b).can_match


def test_compare_names_action_and_toolchain_differences():
    a = _manifest('build --action_env PATH="/home/ann/venv/bin:/usr/bin"\n')
    b = _manifest('build --action_env PATH="/usr/bin"\n',
                  clang={"path": "/usr/lib/llvm-17/bin/clang", "version": "17.0.1"})
    cmp = cachekeys.compare(a, b)
    assert not cmp.can_match
    assert cmp.action_only_in_a == ("build --action_env=PATH=/home/ann/venv/bin:/usr/bin",)
    assert cmp.action_only_in_b == ("build --action_env=PATH=/usr/bin",)
    assert cmp.toolchain == (("clang.version", "17.0.6", "17.0.1"),)


def test_compare_repository_only_difference_keeps_keys_matchable():
    a = _manifest('build:cuda --repo_env LOCAL_CUDA_PATH="/home/ann/shim"\n')
    b = _manifest('build:cuda --repo_env LOCAL_CUDA_PATH="/home/bob/shim"\n')
    cmp = cachekeys.compare(a, b)
    assert cmp.can_match
    assert cmp.repository_only_in_a == ("build:cuda --repo_env=LOCAL_CUDA_PATH=/home/ann/shim",)


def test_action_environments_split_target_and_exec_configuration():
    rc = ('build --action_env PATH="/opt/llvm/bin:/usr/bin"\n'
          'build --host_action_env PATH="/opt/llvm/bin:/usr/bin"\n'
          'build --action_env LD_LIBRARY_PATH="/opt/llvm/lib"\n'
          'build:cuda --action_env LD_LIBRARY_PATH="/ignored/for/plain/build"\n'
          'build --action_env LD_LIBRARY_PATH="/opt/llvm/lib2"\n')
    envs = cachekeys.action_environments(cachekeys.from_rc(rc))
    assert envs["--action_env"] == {"PATH": "/opt/llvm/bin:/usr/bin",
                                    "LD_LIBRARY_PATH": "/opt/llvm/lib2"}
    assert envs["--host_action_env"] == {"PATH": "/opt/llvm/bin:/usr/bin"}
