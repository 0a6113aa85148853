"""configure's rendering: pure functions of settings and a fixed discovery result."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.cuda_paths import configured_roots, cuda_paths, foreign_cuda_paths
from tests.helpers.facts import CUDA_ROOT, facts_for_settings
from tests.helpers.golden import check_golden
from tfbuild import environment
from tfbuild.configure import rcfile
from tfbuild.configure.plan import plan
from tfbuild.errors import ConfigError
from tfbuild.settings import available_profiles, resolve

SHIM = "/home/user/.local/state/tfbuild/tensorflow-0123456789ab/cuda-shim"
OUTPUT_BASE = Path("/media/workspace/github/tensorflow/OutputUserRoot/458e09755a092c4c605421b63672f1ff")


def render_with(profile: str, overrides=(), facts=None):
    settings = resolve(profile, env={}, overrides=overrides).settings
    facts = facts or facts_for_settings(settings, profile)
    env = environment.compute(settings, facts, output_base=OUTPUT_BASE)
    content = rcfile.render(plan(settings, facts, env, profile=profile, shim=SHIM))
    return content, env, settings


def render(profile: str, overrides=()):
    content, env, _ = render_with(profile, overrides)
    return content, env


def foreign(content, env, settings):
    roots = configured_roots(settings, shim=SHIM, output_base=str(OUTPUT_BASE))
    return foreign_cuda_paths([content, env.as_shell()], roots)


@pytest.mark.parametrize("profile", sorted(available_profiles({})))
def test_golden_bazelrc_and_environment_per_profile(profile):
    content, env, settings = render_with(profile)
    assert foreign(content, env, settings) == []
    check_golden(f"configure/{profile}.tf_configure.bazelrc", content)
    check_golden(f"configure/{profile}.environment.sh", env.as_shell())


@pytest.mark.parametrize("profile", ["cpu", "a100"])
def test_consistency_check_catches_another_machines_cuda(profile):
    """The check that guards the golden files fails on the old mistake: a profile rendered with
    the rtx3050 machine's facts (its /media/workspace CUDA) names a toolkit it does not configure."""
    rtx3050 = facts_for_settings(resolve("rtx3050", env={}).settings, "rtx3050")
    content, env, settings = render_with(profile, facts=rtx3050)
    assert f"{CUDA_ROOT}/bin" in foreign(content, env, settings)


def test_cpu_profile_names_no_cuda_path():
    content, env = render("cpu")
    assert cuda_paths(content + env.as_shell()) == []
    assert "XLA_FLAGS" not in env.as_dict()


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


FOREIGN = Path(__file__).resolve().parents[1] / "fixtures" / "foreign_rc" / "tf_configure_py.bazelrc"


def test_ownership_of_an_existing_file():
    content, _ = render("cpu")
    assert rcfile.ownership(content) == "tfbuild"
    assert rcfile.ownership(content + "build --jobs=1\n") == "edited"
    assert rcfile.ownership(FOREIGN.read_text()) == "foreign"


def test_write_backs_up_a_configure_py_file(tmp_path):
    content, _ = render("cpu")
    rc, backups = tmp_path / ".tf_configure.bazelrc", tmp_path / "backups"
    rc.write_text(FOREIGN.read_text())
    outcome = rcfile.write(rc, content, backup_dir=backups, stamp="1")
    assert (outcome.changed, outcome.previous) == (True, "foreign")
    assert outcome.backup.read_text() == FOREIGN.read_text()
    assert rc.read_text() == content


def test_write_backs_up_edited_files_only(tmp_path):
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
