"""configure's rendering: pure functions of settings and a fixed discovery result."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from tests.helpers.facts import CUDA_ROOT, healthy_facts
from tests.helpers.golden import check_golden
from tfbuild import environment
from tfbuild.configure import rcfile
from tfbuild.configure.plan import plan
from tfbuild.errors import ConfigError
from tfbuild.settings import available_profiles, resolve

SHIM = "/home/user/.local/state/tfbuild/tensorflow-0123456789ab/cuda-shim"
OUTPUT_BASE = Path("/media/workspace/github/tensorflow/OutputUserRoot/458e09755a092c4c605421b63672f1ff")


def facts_for(profile: str):
    facts = healthy_facts()
    if profile == "rtx3050":  # the notes' runfile install: lib64 only, CUPTI in extras/
        facts = dataclasses.replace(facts, cuda=dataclasses.replace(
            facts.cuda, layout="runfile", has_lib=False, cudart=f"{CUDA_ROOT}/lib64/libcudart.so.12",
            cupti_include=f"{CUDA_ROOT}/extras/CUPTI/include",
            cupti_lib=f"{CUDA_ROOT}/extras/CUPTI/lib64/libcupti.so.12", ptxas=f"{CUDA_ROOT}/bin/ptxas"))
    return facts


def render(profile: str, overrides=()):
    settings = resolve(profile, env={}, overrides=overrides).settings
    facts = facts_for(profile)
    env = environment.compute(settings, facts, output_base=OUTPUT_BASE)
    return rcfile.render(plan(settings, facts, env, profile=profile, shim=SHIM)), env


@pytest.mark.parametrize("profile", sorted(available_profiles({})))
def test_golden_bazelrc_and_environment_per_profile(profile):
    content, env = render(profile)
    check_golden(f"configure/{profile}.tf_configure.bazelrc", content)
    check_golden(f"configure/{profile}.environment.sh", env.as_shell())


def test_same_inputs_same_bytes():
    assert render("rtx3050")[0] == render("rtx3050")[0]


def test_profile_capabilities_win_over_tf_cuda_clang_list():
    content, _ = render("rtx4090", ["cuda.compute_capabilities=8.9,compute_90"])
    lines = content.splitlines()
    assert 'build:cuda --repo_env HERMETIC_CUDA_COMPUTE_CAPABILITIES="sm_89,compute_90"' in lines
    assert 'build:cuda_clang --repo_env HERMETIC_CUDA_COMPUTE_CAPABILITIES="sm_89,compute_90"' in lines
    assert lines.index("build --config=cuda_clang") < lines.index(
        'build:cuda_clang --repo_env HERMETIC_CUDA_COMPUTE_CAPABILITIES="sm_89,compute_90"')


def test_runfile_cuda_uses_the_shim_and_the_notes_library_path():
    content, env = render("rtx3050")
    assert f'build:cuda --repo_env LOCAL_CUDA_PATH="{SHIM}"' in content
    assert env.get("LD_LIBRARY_PATH").split(":")[:2] == [
        "/media/workspace/clang17/instdir/lib/x86_64-unknown-linux-gnu", f"{CUDA_ROOT}/lib64"]
    assert env.get("XLA_FLAGS") == f"--xla_gpu_cuda_data_dir={CUDA_ROOT}"
    assert env.get("PATH").startswith(f"{CUDA_ROOT}/bin:")
    patched, _ = render("rtx3050", ["cuda.layout_fix=patch"])
    assert f'build:cuda --repo_env LOCAL_CUDA_PATH="{CUDA_ROOT}"' in patched


def test_hermetic_cuda_data_dir_is_in_the_output_base():
    _, env = render("a100", ["cuda.local_cuda_path="])
    assert env.get("XLA_FLAGS") == f"--xla_gpu_cuda_data_dir={OUTPUT_BASE}/external/cuda_nvcc"


@pytest.mark.parametrize("override, key", [
    ('cuda.local_cudnn_path=/opt/cudnn"\nbuild --config=evil', "cuda.local_cudnn_path"),
    ('cuda.version=12.4.0" --repo_env=X="1', "cuda.version"),
    ("build.cc_opt_flags=-O3 -march=native", "build.cc_opt_flags"),
    ("cuda.local_cuda_path=relative/cuda", "cuda.local_cuda_path"),
])
def test_values_that_would_break_the_rc_file_are_refused(override, key):
    with pytest.raises(ConfigError) as info:
        render("a100", [override])
    assert key in str(info.value)


def test_ownership_of_an_existing_file():
    content, _ = render("cpu")
    assert rcfile.ownership(content) == "tfbuild"
    assert rcfile.ownership(content + "build --jobs=1\n") == "edited"
    assert rcfile.ownership('build --action_env PYTHON_BIN_PATH="/usr/bin/python3"\n') == "foreign"


def test_write_backs_up_foreign_and_edited_files_only(tmp_path):
    content, _ = render("cpu")
    rc, backups = tmp_path / ".tf_configure.bazelrc", tmp_path / "backups"
    first = rcfile.write(rc, content, backup_dir=backups, stamp="1")
    assert (first.changed, first.backup, first.previous) == (True, None, "absent")
    again = rcfile.write(rc, content, backup_dir=backups, stamp="2")
    assert (again.changed, again.backup) == (False, None)
    rc.write_text(content + "build --jobs=1\n")
    edited = rcfile.write(rc, content, backup_dir=backups, stamp="3")
    assert edited.previous == "edited" and edited.backup.read_text().endswith("build --jobs=1\n")
    other, _ = render("cpu", ["build.cc_opt_flags=-O2"])
    replaced = rcfile.write(rc, other, backup_dir=backups, stamp="4")
    assert replaced.changed and replaced.backup is None  # ours, unedited: no backup needed


def test_local_paths_are_read_back_from_the_rendered_file():
    from tfbuild.configure import rcfile

    text, _ = render("rtx3050")
    found = rcfile.local_paths(text)
    assert found["LOCAL_CUDA_PATH"] == SHIM
    assert found["LOCAL_CUDNN_PATH"] == "/media/workspace/cudnn0910/instdir"
    assert set(found) == {"LOCAL_CUDA_PATH", "LOCAL_CUDNN_PATH"}
