"""Ranges and shapes of every setting, refused where settings are resolved (whatever --force
says). One line per bad value: the --set given, the key the message must name, a fragment."""

from __future__ import annotations

import pytest

from tfbuild.errors import ConfigError
from tfbuild.settings import available_profiles, key_specs, resolve
from tfbuild.settings.validate import RULES

CUDA = ["cuda.enabled=true", "cuda.local_cuda_path=/opt/cuda"]

BAD_VALUES = [
    # (overrides, key named, fragment of the message)
    (["tensorflow.version=2.18"], "tensorflow.version", "x.y.z"),
    (["tensorflow.git_url="], "tensorflow.git_url", "is empty"),
    (["tensorflow.git_ref=--upload-pack=evil"], "tensorflow.git_ref", "read as an option"),
    (["tensorflow.source_dir=/home/me/my src/tensorflow"], "tensorflow.source_dir", "spaces"),
    (["tensorflow.source_dir="], "tensorflow.source_dir", "is empty"),
    (["toolchain.clang_major=0"], "toolchain.clang_major", "major version"),
    (["toolchain.gcc_major=-12"], "toolchain.gcc_major", "major version"),
    (["toolchain.clang_path=/usr/bin/clang-17"], "toolchain.clang_path", "does not end in `clang`"),
    (["toolchain.bazel_version=six"], "toolchain.bazel_version", "not a Bazel version"),
    (["toolchain.python_version=3"], "toolchain.python_version", "not x.y"),
    (["toolchain.clang_prefix=/opt/llvm\n17"], "toolchain.clang_prefix", "control character"),
    (["cuda.version=12.4"], "cuda.version", "x.y.z"),
    (["cuda.cudnn_version=9"], "cuda.cudnn_version", "x.y.z"),
    (["cuda.local_cuda_path=cuda"], "cuda.local_cuda_path", "is relative"),
    (["cuda.local_cudnn_path=opt/cudnn"], "cuda.local_cudnn_path", "is relative"),
    (['cuda.local_nccl_path=/opt/nc"cl'], "cuda.local_nccl_path", "quote"),
    ([*CUDA, "cuda.compute_capabilities=[]"], "cuda.compute_capabilities", "is empty"),
    (["cuda.compute_capabilities=sm8"], "cuda.compute_capabilities", "needs two digits"),
    (["cuda.compute_capabilities=8.6.1"], "cuda.compute_capabilities", "not a version number"),
    (["cuda.compute_capabilities=sm_100"], "cuda.compute_capabilities", "two-digit"),
    (["mirrors.tf_mirror=ftp://mirror.example/tf"], "mirrors.tf_mirror", "https"),
    (["mirrors.tf_mirror=http://mirror.example/tf"], "mirrors.tf_mirror", "allow_http"),
    (["mirrors.pip_index=https://pypi.example/simple?x=1"], "mirrors.pip_index", "plain URL"),
    (["mirrors.direct_hosts=[\"https://host.example\"]"], "mirrors.direct_hosts", "host name"),
    (["build.jobs=-2"], "build.jobs", "is negative"),
    (["build.targets=[]"], "build.targets", "nothing to build"),
    (["build.targets=tensorflow:wheel"], "build.targets", "target label"),
    (["build.configs=--config=cuda"], "build.configs", "--config="),
    (["build.configs=cuda wheel"], "build.configs", "config name"),
    (["build.repo_env.1BAD=x"], "build.repo_env", "environment variable name"),
    (["build.bazel_options=[\"\"]"], "build.bazel_options", "is empty"),
    (["build.startup_options=[\"--x\\n--y\"]"], "build.startup_options", "control character"),
    (["build.cc_opt_flags=[\"-O3 -march=native\"]"], "build.cc_opt_flags", "white space"),
    (["build.output_user_root=/tmp/bazel root"], "build.output_user_root", "spaces"),
    (["build.disk_cache=/tmp/cache\x00"], "build.disk_cache", "control character"),
    (["build.dist_dir="], "build.dist_dir", "is empty"),
    (["build.disk_cache_max_gib=-1"], "build.disk_cache_max_gib", "is negative"),
    (["build.min_free_mib=-4096"], "build.min_free_mib", "is negative"),
    (["build.keep_builds=-1"], "build.keep_builds", "is negative"),
    (["remote.cache=s3://bucket"], "remote.cache", "remote URL"),
    (["remote.cache=ftp://cache.example"], "remote.cache", "remote URL"),
    (["remote.executor=http://rbe.example"], "remote.executor", "remote URL"),
    (["remote.instance_name=my instance"], "remote.instance_name", "white space"),
    (["remote.header_env=AUTH-HEADER"], "remote.header_env", "environment variable name"),
    (["docker.base_image=ubuntu:22.04@sha256:abc"], "docker.base_image", "malformed digest"),
    (["docker.image="], "docker.image", "is empty"),
    (["docker.uid=0"], "docker.uid", "is root"),
    (["docker.uid=-5"], "docker.uid", "out of range"),
    (["docker.python=3"], "docker.python", "not x.y"),
    (["docker.cuda_components=[\"cuda nvcc\"]"], "docker.cuda_components", "redistributable"),
    (["docker.llvm_apt_url=http://apt.llvm.org/$(id)"], "docker.llvm_apt_url", "plain http(s) URL"),
    (["docker.bazelisk_url=ftp://files.example/bazelisk"], "docker.bazelisk_url", "plain http(s)"),
    (["docker.apt_sources=[\"http://deb.debian.org/debian trixie main\"]"], "docker.apt_sources",
     "one-line apt source"),
    (["docker.codename=Trixie 13"], "docker.codename", "codename"),
    (["docker.cache_volume=my/volume"], "docker.cache_volume", "volume name"),
]


@pytest.mark.parametrize("overrides, key, fragment", BAD_VALUES,
                         ids=[case[0][-1][:40] for case in BAD_VALUES])
def test_bad_value_is_refused_naming_key_and_origin(overrides, key, fragment):
    with pytest.raises(ConfigError) as info:
        resolve("cpu", env={}, overrides=overrides)
    message = info.value.message
    assert message.startswith(key + " = "), message
    assert fragment in message or fragment in info.value.hint, str(info.value)
    assert "set by cli: --set" in message
    assert "\n" not in message


def test_every_key_of_the_model_has_a_rule():
    assert list(RULES) == list(key_specs())


def test_shipped_profiles_and_defaults_are_valid():
    for name in available_profiles({}):
        resolve(name, env={})


def test_origin_of_a_bad_value_is_the_environment_variable():
    with pytest.raises(ConfigError) as info:
        resolve("cpu", env={"TFBUILD_BUILD_JOBS": "-1"})
    assert "set by env: TFBUILD_BUILD_JOBS" in info.value.message


def test_origin_of_a_bad_value_is_the_profile_file(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text('extends = "cpu"\n[docker]\nuid = 0\n')
    with pytest.raises(ConfigError) as info:
        resolve(str(path), env={})
    assert f"set by profile: {path}" in info.value.message


def test_several_bad_values_are_all_named():
    with pytest.raises(ConfigError) as info:
        resolve("cpu", env={}, overrides=["build.jobs=-1", "docker.uid=0"])
    assert info.value.message.startswith("build.jobs")
    assert "1 more invalid: docker.uid" in info.value.message


def test_empty_capabilities_are_fine_without_cuda():
    assert resolve("cpu", env={}, overrides=["cuda.compute_capabilities=[]"]).settings


@pytest.mark.parametrize("value", ["-1", "12", "99999999999"])
def test_a_source_date_epoch_a_wheel_cannot_carry_is_refused(value):
    from tfbuild.errors import ConfigError
    from tfbuild.settings import resolve

    with pytest.raises(ConfigError) as exc:
        resolve("cpu", env={}, overrides=[f"tensorflow.source_date_epoch={value}"])
    assert "tensorflow.source_date_epoch" in exc.value.message
    assert "git log -1 --format=%ct" in (exc.value.hint or "")
