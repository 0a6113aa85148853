"""The container engine: which one answers (discovery), and the argv of what tfbuild asks of it.

Two engines, each with its own CLI: the Docker Engine (or any service speaking the Docker API,
podman's included, through `DOCKER_HOST`) and podman. Where they differ, each gets its own
flags (GPUs: Docker's `--gpus all`, podman's CDI device; rootless podman maps the invoking user
with `--userns=keep-id`).

A container's exit status is read from the engine (`inspect`), not from the CLI's own exit:
through podman's Docker-compatible service, `docker run --rm` exits 0 whatever the container
did (measured: a container exiting 3 gives 0). So tfbuild never uses `--rm`: it names the
container, runs it attached, asks its state, then removes it.
"""

from __future__ import annotations

import os
import secrets as _random
from dataclasses import dataclass
from typing import Literal

from tfbuild.discovery.facts import ContainerEngine
from tfbuild.errors import TfbuildError, ToolMissingError
from tfbuild.runner import Runner

EngineName = Literal["docker", "podman"]
ENGINES: tuple[EngineName, ...] = ("docker", "podman")
INFO_TIMEOUT_S = 30
_FORMAT = {
    "docker": "{{.ServerVersion}}|{{.DockerRootDir}}|-",
    "podman": "{{.Version.Version}}|{{.Store.GraphRoot}}|{{.Host.Security.Rootless}}",
}
# What serves the Docker API: podman's service names its components "Podman Engine", ...
_COMPONENTS = "{{range .Server.Components}}{{.Name}};{{end}}"
_FIX = {
    "docker": "start the Docker daemon (dockerd), point DOCKER_HOST at a running one, or set "
              "docker.engine = \"podman\"",
    "podman": "install podman (apt-get install podman), check `podman info`, or set "
              "docker.engine = \"docker\"",
}


@dataclass(frozen=True)
class Engine:
    name: EngineName
    version: str       # the server's (dockerd's, or podman's own)
    storage: str       # where it keeps images (free space is measured there)
    server: str        # what answers the CLI: "Docker Engine", "podman", "podman (Docker API)"
    rootless: bool

    @property
    def command(self) -> str:
        return self.name

    def describe(self) -> str:
        return f"{self.name} {self.version} ({self.server})"


def probe(name: EngineName, runner: Runner) -> Engine | str:
    """The engine if its service answers, else what it said (one line)."""
    try:
        result = runner.run([name, "info", "--format", _FORMAT[name]], check=False, quiet=True,
                            timeout=INFO_TIMEOUT_S)
    except ToolMissingError:
        return f"no {name} command on this machine"
    except TfbuildError:  # it hung: a daemon that accepts but does not answer
        return f"`{name} info` did not answer in {INFO_TIMEOUT_S} s"
    if not result.ok:
        lines = [line.strip() for line in result.output.splitlines() if line.strip()]
        reason = next((line for line in lines if "Cannot connect" in line or "rror" in line),
                      lines[-1] if lines else f"exit {result.returncode}")
        return reason[:300]
    fields = result.stdout.strip().split("|")
    if len(fields) != 3:
        return f"`{name} info` answered {result.stdout.strip()[:200]!r}"
    version, storage, third = fields
    if name == "podman":
        return Engine("podman", version, storage, "podman", third == "true")
    components = runner.run(["docker", "version", "--format", _COMPONENTS], check=False,
                            quiet=True, timeout=INFO_TIMEOUT_S)
    on_podman = "podman" in components.stdout.lower()
    server = "podman (Docker API)" if on_podman else "Docker Engine"
    return Engine("docker", version, storage, server, os.getuid() != 0 and on_podman)


def detect(choice: str, runner: Runner) -> Engine:
    """The profile's engine (`docker.engine`), or with `auto` the first that answers."""
    names = ENGINES if choice == "auto" else (choice,)
    reasons = []
    for name in names:
        found = probe(name, runner)  # type: ignore[arg-type]
        if isinstance(found, Engine):
            return found
        reasons.append(f"{name}: {found}")
    if choice == "auto":
        raise ToolMissingError("no container engine answers (" + "; ".join(reasons) + ")",
                               hint="start dockerd or install podman (docker.engine = \"auto\" "
                               "takes the first that answers), or use --dry-run to see what "
                               "would run")
    fix = _FIX[choice]
    if "permission denied" in reasons[0].lower():
        fix = ("its socket is not yours to use: add your user to the group that owns it "
               "(`docker` for the Docker Engine; log in again after), use rootless podman "
               "(docker.engine = \"podman\")")
    raise ToolMissingError(f"the container engine {choice} does not answer: {reasons[0]}",
                           hint=fix + ", or use --dry-run to see what would run")


def build_argv(engine: Engine | EngineName, tag: str, context: str) -> list[str]:
    """Build on the host network, so that apt and pip inside reach the archive and index the
    profile names as the host does."""
    name = engine if isinstance(engine, str) else engine.name
    # podman writes OCI images by default, which have no SHELL: the recipe's bash -o pipefail
    # would be dropped (podman warns and runs /bin/sh)
    own = ["--format", "docker"] if name == "podman" else []
    return [name, "build", *own, "--network=host", "--tag", tag, context]


def build_env(engine: Engine | EngineName) -> dict[str, str]:
    """Docker's classic builder: it works against every Docker API server (BuildKit does not
    through podman's), and the recipe needs nothing BuildKit-only."""
    name = engine if isinstance(engine, str) else engine.name
    return {"DOCKER_BUILDKIT": "0"} if name == "docker" else {}


def gpu_flags(name: EngineName) -> list[str]:
    return ["--gpus", "all"] if name == "docker" else ["--device", "nvidia.com/gpu=all"]


def user_flags(name: EngineName, rootless: bool, uid: int, gid: int) -> list[str]:
    """Run as the invoking user, so what lands in the mounts is theirs."""
    flags = ["--user", f"{uid}:{gid}"]
    if name == "podman" and rootless:
        flags = ["--userns=keep-id", *flags]
    return flags


def container_name(profile: str) -> str:
    return f"tfbuild-{profile}-{os.getpid()}-{_random.token_hex(3)}"


def exit_status(engine: Engine, name: str, cli_code: int, runner: Runner) -> int:
    """The container's own exit status, asked of the engine; the CLI's code when there is no
    container (it was never created: the CLI's 125 says why)."""
    result = runner.run([engine.command, "inspect", "--format", "{{.State.ExitCode}}", name],
                        check=False, quiet=True, timeout=INFO_TIMEOUT_S)
    text = result.stdout.strip()
    return int(text) if result.ok and text.lstrip("-").isdigit() else cli_code


def remove(engine: Engine, name: str, runner: Runner) -> None:
    runner.run([engine.command, "rm", "--force", name], check=False, quiet=True,
               timeout=INFO_TIMEOUT_S)


def image_id(engine: Engine, image: str, runner: Runner) -> str:
    result = runner.run([engine.command, "image", "inspect", "--format", "{{.Id}}", image],
                        check=False, quiet=True, timeout=INFO_TIMEOUT_S)
    text = result.stdout.strip()
    if not result.ok or not text:
        return ""
    return text if text.startswith("sha256:") else f"sha256:{text}"


def runs_a_container(engine: Engine, image: str, runner: Runner) -> str:
    """"yes" when the engine runs `true` in the image (as build --in-docker runs, status asked
    of the engine), else what it said."""
    name = container_name("doctor")
    try:
        result = runner.run([engine.command, "run", "--name", name, "--network=none",
                             "--entrypoint", "true", image], check=False, quiet=True, timeout=120)
        code = exit_status(engine, name, result.returncode, runner)
    except TfbuildError as exc:
        return exc.message
    finally:
        remove(engine, name, runner)
    if code == 0:
        return "yes"
    lines = [line for line in result.output.splitlines() if line.strip()]
    return f"exit {code}" + (f": {lines[-1].strip()[:200]}" if lines else "")


def fact(choice: str, image: str, runner: Runner) -> ContainerEngine:
    """What doctor shows of the engine: which answers, its version, where it stores images
    and their free space, and whether it runs a container in the profile's image (when the
    engine has it; building one is `invoke docker-build`)."""
    try:
        engine = detect(choice, runner)
    except ToolMissingError as exc:
        return ContainerEngine(choice=choice, problem=exc.message)
    free = None
    try:
        stat = os.statvfs(engine.storage)
        free = stat.f_bavail * stat.f_frsize / 2**30
    except OSError:
        pass
    found = image_id(engine, image, runner)
    return ContainerEngine(choice=choice, name=engine.name, version=engine.version,
                           server=engine.server, storage=engine.storage, storage_free_gib=free,
                           image=image, image_id=found,
                           runs=runs_a_container(engine, image, runner) if found else "")
