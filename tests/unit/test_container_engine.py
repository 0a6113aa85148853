"""The container engine's argv per engine, the exit status taken from the engine, what the
manifest records of an image, doctor's engine row, and the recipe's sources (pure logic; the
real engines are tests/integration/test_images.py)."""

from __future__ import annotations

import pytest

from tfbuild.container import engine, record
from tfbuild.container.plan import plan
from tfbuild.container.task import render_dockerfile
from tfbuild.discovery.facts import ContainerEngine
from tfbuild.doctor.checks import container_engine_row
from tfbuild.errors import ConfigError
from tfbuild.runner import Result
from tfbuild.settings import resolve

DIGEST = "@sha256:" + "ab" * 32


def test_each_engine_gets_its_own_flags():
    assert engine.build_argv("docker", "t/x", "/ctx") == [
        "docker", "build", "--network=host", "--tag", "t/x", "/ctx"]
    # podman's OCI default drops SHELL (bash -o pipefail): the docker format keeps it
    assert engine.build_argv("podman", "t/x", "/ctx")[:4] == ["podman", "build", "--format",
                                                               "docker"]
    assert engine.build_env("docker") == {"DOCKER_BUILDKIT": "0"} and engine.build_env("podman") == {}
    assert engine.gpu_flags("docker") == ["--gpus", "all"]
    assert engine.gpu_flags("podman") == ["--device", "nvidia.com/gpu=all"]
    assert engine.user_flags("docker", False, 1001, 1002) == ["--user", "1001:1002"]
    assert engine.user_flags("podman", True, 1001, 1002) == ["--userns=keep-id", "--user",
                                                             "1001:1002"]


class FakeRunner:
    """Answers `inspect` with a canned result (the engine's word on the container)."""

    def __init__(self, returncode: int, stdout: str):
        self.result = Result(("x",), returncode, stdout, "", 0.0)
        self.calls = []

    def run(self, argv, **kwargs):
        self.calls.append(list(argv))
        return self.result


def test_the_exit_status_is_the_containers_not_the_clis():
    podman_api = engine.Engine("docker", "4.3.1", "/s", "podman (Docker API)", False)
    # through podman's Docker API `docker run` said 0; the container exited 3
    runner = FakeRunner(0, "3\n")
    assert engine.exit_status(podman_api, "c1", 0, runner) == 3
    assert runner.calls == [["docker", "inspect", "--format", "{{.State.ExitCode}}", "c1"]]
    # no container (never created): the CLI's own code (125) stands
    assert engine.exit_status(podman_api, "c1", 125, FakeRunner(1, "")) == 125


class Answers:
    """A runner answering each command by its first words (the engines' own output, as seen)."""

    def __init__(self, answers: dict[tuple[str, ...], tuple[int, str]]):
        self.answers = answers

    def run(self, argv, **kwargs):
        for words, (code, out) in self.answers.items():
            if tuple(argv[:len(words)]) == words:
                return Result(tuple(argv), code, out, "", 0.0)
        raise AssertionError(f"unexpected {argv}")


def test_what_answers_the_docker_cli_is_named():
    podman_api = Answers({("docker", "info"): (0, "4.3.1|/var/lib/containers/storage|-\n"),
                          ("docker", "version"): (0, "Podman Engine;Conmon;OCI Runtime (runc);\n")})
    found = engine.probe("docker", podman_api)
    assert (found.name, found.version, found.server) == ("docker", "4.3.1", "podman (Docker API)")
    dockerd = Answers({("docker", "info"): (0, "20.10.24+dfsg1|/var/lib/docker|-\n"),
                       ("docker", "version"): (0, "Engine;containerd;runc;docker-init;\n")})
    assert engine.probe("docker", dockerd).server == "Docker Engine"
    down = Answers({("docker", "info"): (1, "Cannot connect to the Docker daemon at unix:///x. "
                                            "Is the docker daemon running?\n")})
    assert engine.probe("docker", down).startswith("Cannot connect")
    podman = Answers({("podman", "info"): (0, "4.3.1|/var/lib/containers/storage|false\n")})
    assert engine.probe("podman", podman) == engine.Engine(
        "podman", "4.3.1", "/var/lib/containers/storage", "podman", False)


def test_the_record_of_an_image(tmp_path):
    (tmp_path / "packages.txt").write_text("clang-17=1:17.0.6-18\ngcc-12=12.4.0-2\nbroken\n")
    (tmp_path / "base-image.txt").write_text("r.example/debian:trixie" + DIGEST + "\n")
    env = record.host_env("podman", "tfbuild/cpu", "sha256:" + "1" * 64)
    found = record.section(env, tmp_path)
    assert found == {"engine": "podman", "image": "tfbuild/cpu", "image_id": "sha256:" + "1" * 64,
                     "base_image": "r.example/debian:trixie" + DIGEST,
                     "packages": {"clang-17": "1:17.0.6-18", "gcc-12": "12.4.0-2"}}
    assert record.section({}, tmp_path) is None  # not in a tfbuild image


def test_the_record_variables_are_not_taken_for_settings():
    from tfbuild.settings.resolve import RESERVED_ENV

    assert set(record.host_env("a", "b", "c")) <= RESERVED_ENV


@pytest.mark.parametrize("found, status, words", [
    (ContainerEngine("auto", problem="no container engine answers"), "skip", "no container"),
    (ContainerEngine("docker", problem="Cannot connect to the Docker daemon"), "warn", "Cannot"),
    (ContainerEngine("podman", "podman", "4.3.1", "podman", "/var/lib/c", 50.0, image="t/cpu"),
     "ok", "no image t/cpu yet"),
    (ContainerEngine("auto", "docker", "20.10.24", "Docker Engine", "/d", 50.0, image="t/cpu",
                     image_id="sha256:" + "2" * 64, runs="yes"), "ok", "runs a container in t/cpu"),
    (ContainerEngine("auto", "docker", "20.10.24", "Docker Engine", "/d", 50.0, image="t/cpu",
                     image_id="sha256:" + "2" * 64, runs="exit 127: no such file"), "warn",
     "cannot run a container"),
    (ContainerEngine("podman", "podman", "4.3.1", "podman", "/var/lib/c", 1.5, image="t/cpu"),
     "warn", "1.5 GiB free"),
])
def test_doctors_engine_row(found, status, words):
    row = container_engine_row(found, cuda_on=False)
    assert row.status == status and words in row.found and not row.blocks


def _plan(*overrides):
    return plan(resolve("cpu", env={}, overrides=list(overrides)).settings, "cpu")


def test_every_source_of_the_recipe_is_the_profiles():
    text = render_dockerfile(_plan(
        "docker.base_image=mirror.example:5000/debian:trixie" + DIGEST,
        'docker.apt_sources=["deb http://apt.example/debian trixie main"]',
        "docker.clang_from=apt.llvm.org", "docker.codename=trixie",
        "docker.llvm_apt_url=https://llvm-mirror.example/apt/",
        "docker.bazelisk_url=https://files.example/bazelisk-linux-amd64",
        "mirrors.pip_index=https://pypi.example/simple"))
    assert "FROM mirror.example:5000/debian:trixie" + DIGEST in text
    assert "'deb http://apt.example/debian trixie main' > /etc/apt/sources.list.d/tfbuild.list" in text
    assert "curl -fsSL https://llvm-mirror.example/apt/llvm-snapshot.gpg.key" in text
    assert "https://llvm-mirror.example/apt/trixie/ llvm-toolchain-trixie-17 main" in text
    assert "-o /usr/local/bin/bazelisk https://files.example/bazelisk-linux-amd64" in text
    assert "pip install --no-cache-dir --index-url https://pypi.example/simple" in text
    commands = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    assert "apt.llvm.org" not in commands and "github.com" not in commands


def test_distro_sources_need_no_third_party_host():
    text = render_dockerfile(_plan("docker.base_image=r.example/debian:trixie" + DIGEST,
                                   "docker.clang_from=distro", "docker.bazel_from=distro",
                                   "docker.python=3.13"))
    assert "clang-17 lld-17" in text and "bazel-bootstrap" in text
    commands = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    assert "apt.llvm.org" not in commands and "bazelisk" not in commands
    assert "gnupg" not in commands


def test_a_base_image_without_digest_or_codename_is_refused_with_the_fix():
    with pytest.raises(ConfigError) as unpinned:
        _plan("docker.base_image=debian:trixie")
    assert "not pinned by digest" in unpinned.value.message
    assert "podman image inspect" in unpinned.value.hint
    with pytest.raises(ConfigError) as codename:
        _plan("docker.base_image=r.example/debian:trixie" + DIGEST)  # apt.llvm.org by default
    assert "docker.codename" in codename.value.hint and "docker.clang_from" in codename.value.hint


def test_cuda_from_nvidias_pypi_wheels_through_the_profiles_index():
    from tests.helpers.golden import check_golden

    p = plan(resolve("rtx3050", env={}, overrides=["docker.cuda_from=pypi"]).settings, "rtx3050")
    text = render_dockerfile(p)
    check_golden("docker/rtx3050-cuda-pypi.Dockerfile", text)  # hadolint reads it too
    assert "'nvidia-cuda-nvcc-cu12==12.4.131 --hash=sha256:e4c9a354" in text
    assert "pip download --index-url https://pypi.mirrors.ustc.edu.cn/simple/ --no-deps " \
           "--require-hashes -r /tmp/cuda.txt" in text
    assert "install_cuda_wheels.py --prefix /usr/local/cuda-12.4 /tmp/cuda/*.whl" in text
    assert "nvidia-cudnn-cu12==9.10.2.21 --hash=sha256:9494" in text  # cuDNN as with redist
    assert "redistrib_12.4.0.json" not in text and "install_cuda_redist" not in text
    with pytest.raises(ConfigError) as unknown:
        plan(resolve("rtx3050", env={}, overrides=["docker.cuda_from=pypi",
                                                    "cuda.version=12.6.0"]).settings, "rtx3050")
    assert "no pinned NVIDIA PyPI wheels for CUDA 12.6" in unknown.value.message


def test_the_run_mounts_host_paths_and_passes_a_secret_by_name_only(tmp_path):
    from tfbuild.container.task import Context, run_argv

    profile = resolve("cpu", env={}, overrides=[
        f"build.dist_dir={tmp_path / 'dist'}", "remote.cache=https://cache.example",
        "remote.header_env=CACHE_AUTH"])
    ctx = Context(tmp_path / "ctx", plan(profile.settings, "cpu"))
    argv = run_argv(profile, ctx, source=tmp_path / "tf", build_args=["--jobs", "2"],
                    engine="podman", rootless=True, name="c1", uid=1001, gid=1002,
                    state=tmp_path / "state", env={"TZ": "Asia/Tokyo", "CACHE_AUTH": "s3cr3t",
                                                   "HOME": "/home/ann"})
    line = " ".join(argv)
    assert argv[:5] == ["podman", "run", "--name", "c1", "--init"] and "--rm" not in argv
    assert "--userns=keep-id --user 1001:1002" in line
    for path in (tmp_path / "tf", tmp_path / "state", tmp_path / "dist"):
        assert f"--volume {path}:{path}" in line
    assert "--env TZ=Asia/Tokyo" in line and "/home/ann" not in line  # no HOME of the shell
    assert argv[argv.index("CACHE_AUTH") - 1] == "--env" and "s3cr3t" not in line
    assert line.endswith("--jobs 2 --bazel-opt=--experimental_convenience_symlinks=ignore")


def test_a_profile_of_ones_own_is_mounted_with_what_it_extends(tmp_path):
    from tfbuild.container.task import Context, run_argv

    (tmp_path / "team").mkdir()
    (tmp_path / "team" / "base.toml").write_text('extends = "cpu"\n[build]\njobs = 3\n')
    mine = tmp_path / "mine.toml"
    mine.write_text('extends = "team/base.toml"\n')
    profile = resolve(str(mine), env={})
    ctx = Context(tmp_path / "ctx", plan(profile.settings, "mine"))
    line = " ".join(run_argv(profile, ctx, source=tmp_path / "tf", build_args=[],
                             state=tmp_path / "s", env={}))
    for path in (mine, tmp_path / "team" / "base.toml"):
        assert f"--volume {path}:{path}:ro" in line
    assert f"--profile {mine} " in line and "profiles/cpu.toml" not in line


def test_manifest_diff_names_a_package_that_changed_in_the_image():
    from tfbuild.building.manifest import diff

    def manifest(clang: str) -> dict:
        return {"container": {"engine": "podman", "image": "tfbuild/cpu", "image_id": "sha256:1",
                              "base_image": "r/debian@sha256:" + "a" * 64,
                              "packages": {"clang-17": clang, "gcc-12": "12.4.0-2"}}}

    rows = diff(manifest("1:17.0.6-18"), manifest("1:17.0.6-22"))
    assert rows == [("container image", "container.packages.clang-17", "1:17.0.6-18",
                     "1:17.0.6-22")]
