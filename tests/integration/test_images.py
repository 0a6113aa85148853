"""The container build environment, built and used for real (issue 28): a Debian base made
offline by debootstrap and served by a registry on loopback (the team's mirror), pinned by
digest; the image built from the rendered recipe by podman and by the Docker Engine; the
TF-shaped tree built inside it through `invoke build --in-docker`, with equal artifacts across
clean builds and engines; failures reported with the build's own exit status and compiler
lines through every engine; clear errors for an engine, image or registry that is not there.

The profile is the shipped cpu-trixie (every source a distro or PyPI package) pointed at
Debian bookworm: trixie's only Python is 3.13, outside TF 2.18.1's lock files (3.9-3.12), and
the test tree builds its wheel with the build's Python as TF does, so it cannot build there
(TF itself would use rules_python's hermetic 3.12, which needs GitHub). Bookworm carries the
rest from its own archive: clang-16, lld-16, gcc-12, Python 3.11, Bazel 4.2.3. The trixie
recipe (clang-17) is built by hand and its rendering is a golden file.

Marked `container` (minutes: two image builds): `pytest -m "not container"` leaves them out.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.helpers import containers, users
from tests.helpers.cli import LOOPBACK_ONLY, invoke
from tests.helpers.checkout import committed_fixture

pytestmark = pytest.mark.container
SUITE = "bookworm"


@pytest.fixture(scope="module")
def engines():
    # outside pytest's 0700 temp dir, so that a second user can reach the Docker socket
    run_dir = Path(tempfile.mkdtemp(prefix="tfbuild-engines-", dir="/tmp"))
    run_dir.chmod(0o755)
    started = containers.start(run_dir)
    yield started
    started.stop()
    shutil.rmtree(run_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def base(engines) -> str:
    return containers.base_image(engines, containers.debian_mirror(), SUITE)


@pytest.fixture(scope="module")
def sets(base, tmp_path_factory) -> list[str]:
    """The cpu-trixie profile pointed at the loopback registry's bookworm base, this machine's
    Debian mirror and its proxy's CA; the test tree's Bazel is Debian's 4.2.3."""
    values = [f"docker.base_image={base}",
              f'docker.apt_sources=["deb {containers.debian_mirror()} {SUITE} main"]',
              "docker.ca_certificates=" + json.dumps([str(p) for p in containers.CAS]),
              "docker.image=tfbuild-test/cpu-trixie", "docker.python=3.11",
              "toolchain.clang_major=16", "toolchain.python_version=",
              "toolchain.bazel_version=4.2.3"]
    return [a for v in values for a in ("--set", v)]


# The images install from Debian's archive and PyPI (reachable here): no dead proxy for these
# (podman hands the shell's proxy variables to builds and containers)
NETWORK = {name: None for name in LOOPBACK_ONLY}


def tfbuild(args: list[str], sets: list[str], engine: str, engines, *, env=None, timeout=1800,
            more: tuple[str, ...] = ()):
    """`invoke ARGS --profile cpu-trixie` with the module's --set values, then the engine's,
    then `more` (later --set values win)."""
    name = "docker" if engine.startswith("docker") else "podman"
    return invoke([*args, "--profile", "cpu-trixie", *sets, "--set", f"docker.engine={name}",
                   *more], env={**NETWORK, **engines.env(engine), **(env or {})},
                  timeout=timeout)


@pytest.fixture(scope="module")
def xdg(tmp_path_factory) -> dict:
    return {"XDG_CACHE_HOME": str(tmp_path_factory.mktemp("xdg"))}


@pytest.fixture(scope="module")
def images(engines, sets, xdg) -> dict:
    """The image built by each engine from the same rendered recipe."""
    built = {}
    for engine in ("podman", "docker"):
        proc = tfbuild(["docker-build"], sets, engine, engines, env=xdg)
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-3000:]
        built[engine] = proc
    return built


def image_id(engines, engine: str, image: str = "tfbuild-test/cpu-trixie") -> str:
    run = engines.podman if engine == "podman" else engines.docker
    found = run("image", "inspect", "--format", "{{.Id}}", image).stdout.strip()
    return found if found.startswith("sha256:") else f"sha256:{found}"


def test_the_image_builds_on_both_engines_and_checks_its_toolchain(images, engines, sets, xdg):
    for engine, proc in images.items():
        assert f"built by {engine} " in proc.stdout
        # the image's own toolchain check passes inside it (it ran at the end of the build too,
        # unless that layer came from the cache)
        run = engines.podman if engine == "podman" else engines.docker
        check = run("run", "--rm", "tfbuild-test/cpu-trixie", "tfbuild-verify-toolchain")
        for line in ("ok   clang major: 16", "ok   gcc major: 12", "ok   python: 3.11",
                     "ok   bazel (the distro's): present"):
            assert line in check.stdout, (engine, check.stdout)
    # the base came from the registry by digest, in both engines' images
    for engine in ("podman", "docker"):
        run = engines.podman if engine == "podman" else engines.docker
        label = run("image", "inspect", "--format",
                    '{{index .Config.Labels "org.opencontainers.image.base.name"}}',
                    "tfbuild-test/cpu-trixie").stdout.strip()
        assert label == sets[1].split("=", 1)[1]
    # nothing changed: every step from the layer cache, the same image
    before = image_id(engines, "podman")
    again = tfbuild(["docker-build"], sets, "podman", engines, env=xdg)
    assert again.returncode == 0
    steps = [line for line in again.stdout.splitlines() if line.startswith("STEP ")]
    assert steps and again.stdout.count("--> Using cache") == len(steps) - 1  # FROM is no layer
    assert image_id(engines, "podman") == before
    before = image_id(engines, "docker")
    again = tfbuild(["docker-build"], sets, "docker", engines, env=xdg)
    steps = [line for line in again.stdout.splitlines() if line.startswith("Step ")]
    assert steps and again.stdout.count("---> Using cache") == len(steps) - 1
    assert image_id(engines, "docker") == before


def test_doctor_names_the_engine_and_runs_a_container_in_the_image(images, engines, sets, xdg):
    proc = tfbuild(["doctor", "--json", "--offline"], sets, "podman", engines, env=xdg)
    rows = {row["id"]: row for row in json.loads(proc.stdout)["checks"]}
    row = rows["container.engine"]
    assert row["status"] == "ok", row
    assert row["found"].startswith("podman 4.") and "GiB free" in row["found"]
    assert f"runs a container in tfbuild-test/cpu-trixie ({image_id(engines, 'podman')[:19]})" \
        in row["found"]
    # the docker CLI against podman's service: named as such, and it runs podman's image
    proc = tfbuild(["doctor", "--json", "--offline"], sets, "docker-on-podman", engines, env=xdg)
    row = {r["id"]: r for r in json.loads(proc.stdout)["checks"]}["container.engine"]
    assert row["status"] == "ok" and row["found"].startswith("docker 4."), row
    assert "(podman (Docker API))" in row["found"] and "runs a container in" in row["found"]


def _tree(tmp_path: Path) -> Path:
    return committed_fixture(tmp_path / "tensorflow")


def build_in(engine: str, engines, sets, xdg, tree: Path, dist: Path, volume: str):
    return tfbuild(["build", "--in-docker", "--source", str(tree)], sets, engine, engines,
                   env=xdg, more=("--set", f"build.dist_dir={dist}", "--set",
                                  f"docker.cache_volume={volume}"))


@pytest.fixture(scope="module")
def volumes(engines):
    made: list[tuple[str, str]] = []
    yield made
    for engine, name in made:
        run = engines.podman if engine == "podman" else engines.docker
        run("volume", "rm", "--force", name, check=False)


def test_in_container_builds_are_equal_across_clean_builds_and_engines(
        images, engines, sets, xdg, tmp_path, volumes):
    tree = _tree(tmp_path)
    runs = {}
    for key, engine in (("podman-a", "podman"), ("podman-b", "podman"), ("docker", "docker")):
        volume = f"tfbuild-test-{key}-{os.getpid()}"
        volumes.append((engine, volume))
        dist = tmp_path / f"dist-{key}"
        proc = build_in(engine, engines, sets, xdg, tree, dist, volume)
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-3000:]
        runs[key] = dist / "cpu-trixie"
    sums = {key: (dist / "SHA256SUMS").read_text() for key, dist in runs.items()}
    assert ".whl" in sums["podman-a"] and "libtensorflow" in sums["podman-a"]
    assert sums["podman-a"] == sums["podman-b"] == sums["docker"], sums
    # the artifacts are the invoking user's, and verify
    for dist in runs.values():
        for path in dist.iterdir():
            assert path.lstat().st_uid == os.getuid(), path
        subprocess.run(["sha256sum", "-c", "--quiet", "SHA256SUMS"], cwd=dist, check=True)
    # the manifest records the image the build ran in, as the engine and image know it
    for key, engine in (("podman-a", "podman"), ("docker", "docker")):
        manifest = json.loads((runs[key] / "manifest.json").read_text())
        record = manifest["container"]
        assert record["engine"] == engine and record["image"] == "tfbuild-test/cpu-trixie"
        assert record["image_id"] == image_id(engines, engine)
        assert record["base_image"] == sets[1].split("=", 1)[1]
        assert record["packages"]["clang-16"].startswith("1:16.0.6")
        assert record["packages"]["gcc-12"].startswith("12.")
    # two engines' builds: manifest --diff names the image, and the same artifacts
    proc = invoke(["manifest", "--diff", str(runs["podman-a"]), str(runs["docker"])])
    assert proc.returncode == 1
    assert "container image" in proc.stdout and "container.engine" in proc.stdout
    assert "artifact hashes are the same" in proc.stdout
    # the tree is left as a host build leaves it: no link into the container's paths
    for link in tree.glob("bazel-*"):
        assert link.exists(), f"{link} -> {os.readlink(link)} dangles on the host"
    # a second build of the same tree is served from the cache volume
    again = build_in("podman", engines, sets, xdg, tree, tmp_path / "dist-again",
                     volumes[0][1])
    assert again.returncode == 0, again.stdout[-3000:]
    manifest = json.loads((tmp_path / "dist-again" / "cpu-trixie" / "manifest.json").read_text())
    kinds = manifest["run"]["bazel_summary"]["process_kinds"]
    assert not {k for k in kinds if k not in ("internal", "disk cache hit", "remote cache hit")}, \
        kinds


@pytest.mark.parametrize("engine", ["docker", "podman", "docker-on-podman"])
def test_a_breaking_change_fails_with_the_compilers_lines(images, engines, sets, xdg, tmp_path,
                                                         engine, volumes):
    """docker-on-podman: the docker CLI through podman's Docker API, which serves the image
    podman built (and loses the exit status of `docker run --rm`)."""
    tree = _tree(tmp_path)
    source = tree / "tensorflow" / "c" / "c_api.c"
    source.write_text(source.read_text() + "\nint broken( { return undeclared_name; }\n")
    volume = f"tfbuild-test-break-{engine}-{os.getpid()}"
    volumes.append(("docker" if engine == "docker" else "podman", volume))
    proc = build_in(engine, engines, sets, xdg, tree, tmp_path / "dist", volume)
    assert proc.returncode == 6, (engine, proc.returncode, proc.stdout[-3000:])
    assert "the build in the container" in proc.stderr and "failed with exit code 6" in proc.stderr
    assert f"{source.name}" in proc.stdout and "error:" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_clear_errors_for_what_is_not_there(images, engines, sets, xdg, tmp_path):
    tree = _tree(tmp_path)
    # an engine that is down
    proc = invoke(["build", "--in-docker", "--source", str(tree), "--profile", "cpu-trixie",
                   *sets, "--set", "docker.engine=docker"],
                  env={"DOCKER_HOST": f"unix://{tmp_path}/no-such.sock", **NETWORK, **xdg})
    assert proc.returncode == 3 and "Traceback" not in proc.stderr
    assert "the container engine docker does not answer" in proc.stderr
    assert "dockerd" in proc.stderr  # the fix names what to start
    # the tree's .bazelversion is still checked inside (6.5.0; the image has Debian's 4.2.3)
    proc = tfbuild(["build", "--in-docker", "--source", str(tree)], sets, "podman", engines,
                   env=xdg, more=("--set", "toolchain.bazel_version=from-source",
                                  "--set", f"build.dist_dir={tmp_path / 'dist'}"))
    assert proc.returncode == 3 and "failed with exit code 3" in proc.stderr, proc.stdout[-2000:]
    assert "use Bazel 6.5.0" in proc.stdout and "/usr/local/bin/bazel (4.2.3" in proc.stdout
    # an image not built yet
    proc = tfbuild(["build", "--in-docker", "--source", str(tree)], sets, "podman", engines,
                   env=xdg, more=("--set", "docker.image=tfbuild-test/never-built"))
    assert proc.returncode == 2 and "podman has no image tfbuild-test/never-built" in proc.stderr
    assert "invoke docker-build --profile cpu-trixie" in proc.stderr
    # a digest the registry does not have
    base = sets[1].split("=", 1)[1]
    missing = base.split("@")[0] + "@sha256:" + "0" * 64
    proc = tfbuild(["docker-build"], sets, "podman", engines, env=xdg,
                   more=("--set", f"docker.base_image={missing}"))
    assert proc.returncode == 4 and "Traceback" not in proc.stderr
    assert "podman build failed" in proc.stderr and "docker.base_image" in proc.stderr
    # a registry that does not answer
    gone = f"127.0.0.1:{containers.free_port()}/debian@sha256:" + "1" * 64
    proc = tfbuild(["docker-build"], sets, "docker", engines, env=xdg, timeout=300,
                   more=("--set", f"docker.base_image={gone}"))
    assert proc.returncode == 4 and "Traceback" not in proc.stderr
    assert "docker build failed" in proc.stderr and "docker.base_image" in proc.stderr
    assert "connection refused" in proc.stdout.lower()


def test_verify_reproducible_in_the_container(images, engines, sets, xdg, tmp_path, volumes):
    """Issue 29 in a container: both builds run in the image, the second from a git worktree
    (its repository mounted too, so git answers inside), with its own cache volume, state,
    TZ and locale; equal artifacts, exit 0, the check's volume removed."""
    tree = _tree(tmp_path)
    volume = f"tfbuild-test-repro-{os.getpid()}"
    volumes.append(("podman", volume))
    proc = tfbuild(["verify-reproducible", "--in-docker", "--source", str(tree)], sets, "podman",
                   engines, env={**xdg, "TFBUILD_STATE_DIR": str(tmp_path / "state")},
                   more=("--set", f"build.dist_dir={tmp_path / 'dist'}",
                         "--set", f"docker.cache_volume={volume}"))
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-3000:]
    assert proc.stdout.count("podman run --name") == 2
    second = next(line for line in proc.stdout.splitlines()
                  if line.lstrip("| ").startswith("+ podman run") and "reproducible/checkout" in line)
    assert f"--volume {tree / '.git'}:{tree / '.git'}" in second  # the worktree's repository
    assert "--env TZ=" in second and "docker.cache_volume=tfbuild-reproducible-" in second
    manifest = json.loads((tmp_path / "dist" / "cpu-trixie" / "manifest.json").read_text())
    assert manifest["reproducible"]["equal"] is True, manifest["reproducible"]
    left = engines.podman("volume", "ls", "--format", "{{.Name}}").stdout.split()
    assert not [name for name in left if name.startswith("tfbuild-reproducible-")]


@pytest.mark.skipif(not users.AVAILABLE, reason=users.WHY_NOT)
def test_a_second_user_gets_artifacts_of_their_own(images, engines, sets, volumes):
    """Another Unix user (uid 65534), allowed on the Docker Engine's socket: the build runs in
    the container as that user, so dist/ and the tree hold their files, not root's."""
    # the second user cannot enter pytest's 0700 temp dir: its files live in one of their own
    base = Path(tempfile.mkdtemp(prefix="tfbuild-user2-", dir="/tmp"))
    try:
        _second_user_build(base, engines, sets, volumes)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _second_user_build(base: Path, engines, sets, volumes) -> None:
    tree = _tree(base)
    venv = users.second_user_venv(base)
    env = users.shell(base, "u")
    users.hand_over(base)
    volume = f"tfbuild-test-second-user-{os.getpid()}"
    volumes.append(("docker", volume))
    args = ["build", "--in-docker", "--source", str(tree), "--profile", "cpu-trixie", *sets,
            "--set", "docker.engine=docker", "--set", f"docker.cache_volume={volume}"]
    shell = {**env, **engines.docker_env, "XDG_CACHE_HOME": str(base / "u" / "home" / ".cache")}
    # not (yet) allowed on the daemon's socket: the fix says how to be
    proc = users.invoke_as_second_user(args, shell, venv)
    assert proc.returncode == 3 and "permission denied" in proc.stderr, proc.stderr[-2000:]
    assert "add your user to the group that owns it" in proc.stderr
    socket = engines.docker_env["DOCKER_HOST"].removeprefix("unix://")
    os.chmod(socket, 0o666)  # this test's own daemon: its socket open to the second user
    proc = users.invoke_as_second_user(args, shell, venv)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-3000:]
    assert f"--user {users.SECOND_UID}:{users.SECOND_UID}" in proc.stdout
    dist = Path(env["TFBUILD_BUILD_DIST_DIR"]) / "cpu-trixie"
    files = list(dist.iterdir())
    assert any(p.name.endswith(".whl") for p in files)
    for path in files:
        assert path.lstat().st_uid == users.SECOND_UID, path
    for path in tree.rglob("*"):  # the tree: nothing of root's (patched files, rc, backups)
        assert path.lstat().st_uid == users.SECOND_UID, path


def test_the_shipped_trixie_recipe_builds_on_both_engines(engines, xdg):
    """The cpu-trixie profile as shipped, pointed only at the loopback registry's trixie base
    (debootstrap) and this machine's Debian mirror: clang-17, lld-17, gcc-12, Python 3.13 and
    Bazel from trixie's archive; the image's toolchain check passes inside, with each engine."""
    base = containers.base_image(engines, containers.debian_mirror(), "trixie")
    sets = ["--set", f"docker.base_image={base}",
            "--set", f'docker.apt_sources=["deb {containers.debian_mirror()} trixie main"]',
            "--set", "docker.ca_certificates=" + json.dumps([str(p) for p in containers.CAS]),
            "--set", "docker.image=tfbuild-test/trixie"]
    for engine in ("podman", "docker"):
        proc = tfbuild(["docker-build"], sets, engine, engines, env=xdg)
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-3000:]
        run = engines.podman if engine == "podman" else engines.docker
        check = run("run", "--rm", "tfbuild-test/trixie", "tfbuild-verify-toolchain")
        for line in ("ok   clang major: 17", "ok   ld.lld: present", "ok   gcc major: 12",
                     "ok   python: 3.13", "ok   bazel (the distro's): present"):
            assert line in check.stdout, (engine, check.stdout)
        packages = run("run", "--rm", "tfbuild-test/trixie", "cat",
                       "/usr/share/tfbuild/packages.txt").stdout
        assert "\nclang-17=1:17.0.6" in packages and "\nbazel-bootstrap=4.2.3" in packages
