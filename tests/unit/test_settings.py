from pathlib import Path

import pytest

from tfbuild.errors import ConfigError
from tfbuild.settings import available_profiles, key_specs, resolve
from tfbuild.settings.resolve import DEFAULTS_FILE

SHIPPED = {"cpu", "cuda-local", "rtx3050", "a100", "h100", "rtx4090"}


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_shipped_profiles_resolve_with_the_notes_values():
    assert SHIPPED <= set(available_profiles({}))
    rtx = resolve("rtx3050", env={}).settings
    assert rtx.toolchain.clang_prefix == "/media/workspace/clang17/instdir"
    assert rtx.toolchain.clang_major == 17 and rtx.toolchain.gcc_major == 12
    assert (rtx.cuda.version, rtx.cuda.cudnn_version) == ("12.4.0", "9.10.2")
    assert rtx.cuda.local_cuda_path == "/media/workspace/cuda1204/instdir"
    assert rtx.cuda.local_cudnn_path == "/media/workspace/cudnn0910/instdir"
    assert rtx.cuda.compute_capabilities == ["sm_80"]
    assert rtx.build.jobs == 16
    assert rtx.mirrors.pip_index == "https://pypi.mirrors.ustc.edu.cn/simple/"
    assert rtx.mirrors.direct_hosts == ["developer.download.nvidia.com"]
    assert resolve("h100", env={}).settings.cuda.compute_capabilities == ["sm_90"]
    assert resolve("rtx4090", env={}).settings.cuda.compute_capabilities == ["sm_89"]
    assert resolve("a100", env={}).settings.cuda.compute_capabilities == ["sm_80"]
    assert resolve("cpu", env={}).settings.cuda.enabled is False


def test_defaults_cover_every_key():
    from tfbuild import toml as tomllib

    data = tomllib.loads(DEFAULTS_FILE.read_text())
    flat = {f"{s}.{k}" for s, body in data.items() for k in body}
    assert flat == set(key_specs())


def test_precedence_default_profile_env_cli_with_sources():
    env = {"TFBUILD_BUILD_JOBS": "4", "TFBUILD_CUDA_COMPUTE_CAPABILITIES": "8.6, sm_90"}
    r = resolve("rtx3050", env=env, overrides=["build.jobs=2", "mirrors.allow_http=true"])
    s = r.settings
    assert s.build.jobs == 2 and str(r.sources["build.jobs"]) == "cli: --set build.jobs=2"
    assert s.cuda.compute_capabilities == ["8.6", "sm_90"]
    assert str(r.sources["cuda.compute_capabilities"]) == "env: TFBUILD_CUDA_COMPUTE_CAPABILITIES"
    assert r.sources["cuda.version"].detail == "profiles/cuda-local.toml"
    assert r.sources["toolchain.clang_prefix"].detail == "profiles/rtx3050.toml"
    assert r.sources["tensorflow.version"].kind == "default"
    assert s.mirrors.allow_http is True
    assert [p.stem for p in r.chain] == ["cuda-local", "rtx3050"]


def test_default_profile_comes_from_environment():
    assert resolve(None, env={"TFBUILD_PROFILE": "a100"}).name == "a100"
    assert resolve(None, env={}).name == "cpu"


def test_profile_by_path_extends_relative_and_merges_tables(tmp_path):
    write(tmp_path / "base.toml", '[build]\nrepo_env = { A = "1" }\njobs = 3\n')
    p = write(tmp_path / "mine.toml", 'extends = "base.toml"\n[build]\nrepo_env = { B = "2" }\n')
    s = resolve(str(p), env={}).settings
    assert s.build.repo_env == {"USE_PYWRAP_RULES": "1", "WHEEL_NAME": "tensorflow",
                                "A": "1", "B": "2"}
    assert s.build.jobs == 3


def test_set_a_single_table_entry():
    s = resolve("cpu", env={}, overrides=["build.repo_env.WHEEL_NAME=tensorflow_cpu"]).settings
    assert s.build.repo_env["WHEEL_NAME"] == "tensorflow_cpu"


def test_settings_are_immutable():
    s = resolve("cpu", env={}).settings
    with pytest.raises(Exception):
        s.build.jobs = 3  # type: ignore[misc]


@pytest.mark.parametrize("text, message", [
    ("[cuda]\ncompute_capabilites = []\n", "unknown key cuda.compute_capabilites (did you mean 'compute_capabilities'?)"),
    ("[buld]\njobs = 1\n", "unknown section [buld] (did you mean 'build'?)"),
    ("[build]\njobs = \"sixteen\"\n", "build.jobs must be an integer, got 'sixteen' (string)"),
    ("[cuda]\nenabled = 1\n", "cuda.enabled must be a boolean, got 1 (integer)"),
    ("[cuda]\nlayout_fix = \"shims\"\n", "cuda.layout_fix must be one of \"shim\" | \"patch\" | \"none\", got 'shims' (did you mean 'shim'?)"),
    ("[build]\njobs = \n", "is not valid TOML: Invalid value (at line 2, column 8)"),
])
def test_bad_profiles_are_clear_errors(tmp_path, text, message):
    p = write(tmp_path / "bad.toml", text)
    with pytest.raises(ConfigError) as info:
        resolve(str(p), env={})
    assert message in str(info.value)
    assert str(p) in str(info.value)
    assert info.value.exit_code == 2


def test_missing_profile_suggests_and_lists():
    with pytest.raises(ConfigError) as info:
        resolve("rtx3500", env={})
    text = str(info.value)
    assert "no profile named 'rtx3500' (did you mean 'rtx3050'?)" in text
    assert "rtx4090" in text and "invoke profiles" in text


def test_extends_cycle_is_reported(tmp_path):
    write(tmp_path / "a.toml", 'extends = "b.toml"\n')
    write(tmp_path / "b.toml", 'extends = "a.toml"\n')
    with pytest.raises(ConfigError, match="profile extends itself: a.toml -> b.toml -> a.toml"):
        resolve(str(tmp_path / "a.toml"), env={})


@pytest.mark.parametrize("override, message", [
    ("build.jobs", "--set 'build.jobs': expected section.key=value"),
    ("build.job=3", "unknown key 'build.job' (did you mean 'build.jobs'?)"),
    ("build.jobs=many", "build.jobs must be an integer, got 'many'"),
    ("cuda.enabled=maybe", "cuda.enabled must be true or false"),
])
def test_bad_set_values(override, message):
    with pytest.raises(ConfigError) as info:
        resolve("cpu", env={}, overrides=[override])
    assert message in str(info.value)


def test_unknown_environment_setting_is_an_error():
    with pytest.raises(ConfigError, match="TFBUILD_BUILD_JOB is not a tfbuild setting"):
        resolve("cpu", env={"TFBUILD_BUILD_JOB": "3"})


def test_extends_finds_a_profile_beside_the_file_first(tmp_path):
    team = tmp_path / "team"
    team.mkdir()
    write(team / "base.toml", 'extends = "cpu"\n[build]\njobs = 3\n')
    write(team / "mine.toml", 'extends = "base"\n[build]\ndist_dir = "out"\n')
    r = resolve(str(team / "mine.toml"), env={})
    assert r.settings.build.jobs == 3 and r.settings.build.dist_dir == "out"
    assert [p.name for p in r.chain] == ["cpu.toml", "base.toml", "mine.toml"]


def test_a_team_profile_may_extend_the_shipped_one_of_the_same_name(tmp_path):
    write(tmp_path / "cpu.toml", 'extends = "cpu"\n[build]\njobs = 5\n')
    r = resolve(str(tmp_path / "cpu.toml"), env={})
    assert r.settings.build.jobs == 5 and r.chain[0].parent.name == "profiles"


def test_extends_not_found_lists_where_it_looked(tmp_path):
    extra = tmp_path / "extra"
    extra.mkdir()
    path = write(tmp_path / "p.toml", 'extends = "gpu-team"\n')
    with pytest.raises(ConfigError) as info:
        resolve(str(path), env={"TFBUILD_PROFILES_DIR": str(extra)})
    message = info.value.message
    assert f"extends in {path}" in message
    assert message.index(str(tmp_path / "gpu-team.toml")) < message.index(
        str(extra / "gpu-team.toml")) < message.index("profiles/gpu-team.toml")
