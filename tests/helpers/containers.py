"""Real container engines for the image tests, started and stopped by the tests (recipes:
../shared/tf-2.18-facts.md, "Containers here"):

- podman (rootful, runc, host network), with its own config, storage and registries file;
- podman's Docker-API service (`podman system service`), which the `docker` CLI talks to;
- the Docker Engine (Debian's dockerd) with its own data root and socket;
- Debian's docker-registry on loopback: the team's mirror the base image is pulled from.

Their storage lives under .cache/containers in the checkout, so that a second run on the same
machine reuses the base image and the engines' layer caches (CI starts clean).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STATE = ROOT / ".cache" / "containers"
CAS = sorted(Path("/usr/local/share/ca-certificates").glob("*.crt"))  # a TLS-intercepting proxy's


REGISTRY_PORT = 45055  # one port, so the base image's name and the layer caches stay valid


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not come up in {timeout:.0f}s")


def debian_mirror() -> str:
    """The Debian archive this machine's apt uses (the image installs from the same)."""
    sources = Path("/etc/apt/sources.list.d/debian.sources")
    if sources.exists():
        for line in sources.read_text().splitlines():
            if line.startswith("URIs:"):
                return line.split()[1]
    return "http://deb.debian.org/debian"


@dataclass
class Engines:
    podman_env: dict[str, str]
    docker_env: dict[str, str]            # DOCKER_HOST of the Docker Engine
    podman_docker_env: dict[str, str]     # DOCKER_HOST of podman's Docker-API service
    registry: str                         # host:port
    processes: list[subprocess.Popen] = field(default_factory=list)

    def env(self, engine: str) -> dict[str, str]:
        """What a user's shell holds for each way of reaching an engine."""
        return {"podman": self.podman_env, "docker": self.docker_env,
                "docker-on-podman": self.podman_docker_env}[engine]

    def podman(self, *args: str, check: bool = True, **kw) -> subprocess.CompletedProcess:
        return run(["podman", *args], self.podman_env, check=check, **kw)

    def docker(self, *args: str, check: bool = True, **kw) -> subprocess.CompletedProcess:
        return run(["docker", *args], self.docker_env, check=check, **kw)

    def stop(self) -> None:
        for proc in reversed(self.processes):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        # dockerd leaves its network namespace mounted under its exec root: unmounted, so that
        # the checkout (and .cache) can be removed
        for mount in reversed(_mounts_under(STATE / "docker-exec")):
            subprocess.run(["umount", "--lazy", mount], capture_output=True)


def _mounts_under(root: Path) -> list[str]:
    """Mount points below root, from the kernel's own table (/proc/self/mounts)."""
    prefix = str(root) + "/"
    with open("/proc/self/mounts") as table:
        points = [line.split()[1].replace("\\040", " ") for line in table]
    return [p for p in points if p.startswith(prefix)]


def run(argv: list[str], env: dict[str, str], *, check: bool = True, timeout: float = 900,
        **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run(argv, env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=timeout, **kw)
    if check and proc.returncode:
        raise AssertionError(f"{' '.join(argv)} failed ({proc.returncode}):\n"
                             f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def _podman_config(root: Path, registry: str) -> dict[str, str]:
    conf = root / "conf"
    conf.mkdir(parents=True, exist_ok=True)
    # crun cannot set RLIMIT_NOFILE in this sandbox: runc, and limits it may set; host network
    # so that apt and pip inside reach the archive and index
    (conf / "containers.conf").write_text(
        "[containers]\n"
        'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n'
        'netns = "host"\n'
        "[engine]\n"
        'runtime = "runc"\n')
    # public registries are unreachable here: none is searched; the loopback one is plain http
    (conf / "registries.conf").write_text(
        "unqualified-search-registries = []\n"
        f'[[registry]]\nlocation = "{registry}"\ninsecure = true\n')
    (conf / "storage.conf").write_text(
        f'[storage]\ndriver = "overlay"\ngraphroot = "{root / "storage"}"\n'
        f'runroot = "{root / "run"}"\n')
    return {"CONTAINERS_CONF": str(conf / "containers.conf"),
            "CONTAINERS_REGISTRIES_CONF": str(conf / "registries.conf"),
            "CONTAINERS_STORAGE_CONF": str(conf / "storage.conf")}


def start(run_dir: Path) -> Engines:
    """Registry, podman (+ its Docker-API service) and dockerd, each answering before return."""
    STATE.mkdir(parents=True, exist_ok=True)
    run_dir.mkdir(parents=True, exist_ok=True)
    port = REGISTRY_PORT if _port_free(REGISTRY_PORT) else free_port()
    registry = f"127.0.0.1:{port}"
    config = run_dir / "registry.yml"
    config.write_text(f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: "
                      f"{STATE / 'registry'}\nhttp:\n  addr: {registry}\n")
    logs = run_dir / "logs"
    logs.mkdir(exist_ok=True)
    processes = []

    def spawn(name: str, argv: list[str], env: dict[str, str] | None = None) -> None:
        with open(logs / f"{name}.log", "wb") as log:
            processes.append(subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                              env={**os.environ, **(env or {})},
                                              start_new_session=True))

    spawn("registry", ["docker-registry", "serve", str(config)])
    podman_env = _podman_config(STATE / "podman", registry)
    podman_sock = run_dir / "podman.sock"
    spawn("podman-service", ["podman", "system", "service", "--time=0", f"unix://{podman_sock}"],
          podman_env)
    docker_sock = run_dir / "docker.sock"
    spawn("dockerd", ["dockerd", "--data-root", str(STATE / "docker"), "--exec-root",
                      str(STATE / "docker-exec"), "--pidfile", str(run_dir / "docker.pid"),
                      "-H", f"unix://{docker_sock}", "--iptables=false", "--ip6tables=false",
                      "--bridge=none", "--storage-driver=overlay2",
                      "--insecure-registry", registry])
    engines = Engines(podman_env, {"DOCKER_HOST": f"unix://{docker_sock}"},
                      {"DOCKER_HOST": f"unix://{podman_sock}", **podman_env}, registry, processes)
    try:
        wait_for(lambda: _answers(["curl", "-fsS", f"http://{registry}/v2/"], {}), "the registry")
        wait_for(lambda: _answers(["docker", "info"], engines.docker_env), "dockerd")
        wait_for(lambda: _answers(["docker", "info"], engines.podman_docker_env),
                 "podman's Docker-API service")
    except Exception:
        engines.stop()
        raise
    return engines


def _answers(argv: list[str], env: dict[str, str]) -> bool:
    return subprocess.run(argv, env={**os.environ, **env}, capture_output=True).returncode == 0


def base_image(engines: Engines, mirror: str, suite: str) -> str:
    """Debian minbase made offline from Debian's packages (debootstrap), imported into podman
    and pushed to the registry on loopback; its reference by digest there. The rootfs tarball
    is kept in .cache/containers, so later runs skip debootstrap."""
    tarball = STATE / f"{suite}-minbase.tar"
    if not tarball.exists():
        rootfs = STATE / "rootfs"
        shutil.rmtree(rootfs, ignore_errors=True)
        run(["debootstrap", "--variant=minbase", suite, str(rootfs), mirror], {})
        partial = tarball.with_suffix(".partial")
        run(["tar", "-C", str(rootfs), "--numeric-owner", "-cf", str(partial), "."], {})
        partial.rename(tarball)
        shutil.rmtree(rootfs, ignore_errors=True)
    name = f"{engines.registry}/debian-{suite}-minbase"
    tag = hashlib.sha256(tarball.read_bytes()).hexdigest()[:12]
    engines.podman("import", str(tarball), f"{name}:{tag}")
    digest_file = STATE / "digest"
    engines.podman("push", "--digestfile", str(digest_file), f"{name}:{tag}")
    return f"{name}:{tag}@{digest_file.read_text().strip()}"
