"""docker/: the build environment as a container image rendered from the profile, so that the
pins live in one place. `invoke docker-build` renders and builds it; `invoke build --in-docker`
runs the same pipeline inside it, with the TF source mounted."""

from __future__ import annotations

import os
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import jinja2

from tfbuild import console, paths, resources
from tfbuild.building.command import BuildRequest
from tfbuild.container.plan import (CONTAINER_CACHE, CONTAINER_DIST, CONTAINER_SOURCE,
                                    CONTAINER_TFBUILD, ImagePlan, container_overrides, plan)
from tfbuild.errors import CommandError, ToolMissingError
from tfbuild.files import write_if_changed
from tfbuild.runner import Runner, quote
from tfbuild.settings import ResolvedProfile, resolve
from tfbuild.settings.resolve import PROFILES_DIR

TEMPLATES = resources.path("docker")


def _env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                              undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                              autoescape=False)


def render_dockerfile(p: ImagePlan) -> str:
    return _env().get_template("Dockerfile.j2").render(p=p)


def render_verify_script(p: ImagePlan) -> str:
    return _env().get_template("verify-toolchain.sh.j2").render(p=p)


@dataclass(frozen=True)
class Context:
    directory: Path
    plan: ImagePlan


def context_dir(profile: str) -> Path:
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "tfbuild" / "docker" / profile


def write_context(profile: ResolvedProfile) -> Context:
    """The build context: Dockerfile, verify script, CUDA installer. Rewritten only on change."""
    p = plan(profile.settings, profile.name)
    directory = context_dir(profile.name)
    directory.mkdir(parents=True, exist_ok=True)
    write_if_changed(directory / "Dockerfile", render_dockerfile(p))
    write_if_changed(directory / "verify-toolchain.sh", render_verify_script(p))
    os.chmod(directory / "verify-toolchain.sh", 0o755)
    write_if_changed(directory / "install_cuda_redist.py",
                     (TEMPLATES / "install_cuda_redist.py").read_text())
    return Context(directory, p)


def require_engine(runner: Runner) -> None:
    try:
        result = runner.run(["docker", "info", "--format", "{{.ServerVersion}}"], check=False,
                            quiet=True, timeout=30)
    except ToolMissingError:
        raise ToolMissingError("no docker command on this machine",
                               hint="install Docker, or use --dry-run to see what would run") from None
    if not result.ok:
        reason = next((line for line in result.output.splitlines()
                       if "Cannot connect" in line or "error" in line.lower()),
                      result.output.strip()[:200])
        raise ToolMissingError(f"no Docker engine: {reason}",
                               hint="start the Docker daemon (dockerd), or use --dry-run to see "
                               "what would run")


def build_argv(ctx: Context) -> list[str]:
    return ["docker", "build", "--tag", ctx.plan.image, str(ctx.directory)]


def docker_build(profile_ref: str | None = None, *, overrides: Sequence[str] = (),
                 dry_run: bool = False) -> int:
    profile = resolve(profile_ref, overrides=overrides)
    ctx = write_context(profile)
    console.step(f"Dockerfile for profile {profile.name}: {ctx.directory / 'Dockerfile'}")
    argv = build_argv(ctx)
    if dry_run:
        console.plain(quote(argv))
        return 0
    runner = Runner(echo=True)
    require_engine(runner)
    code = runner.stream(argv, on_line=lambda line: console.plain(line.rstrip("\n")))
    if code:
        raise CommandError(f"docker build failed with exit code {code}", argv=argv, returncode=code)
    console.success(f"image {ctx.plan.image} built; `invoke build --in-docker` uses it")
    return 0


def tfbuild_volume() -> list[str]:
    """tfbuild's code for the image's PYTHONPATH (/opt/tfbuild): the whole checkout when run
    from one (tfbuild/resources/ links into it), else the installed package, which carries its
    files."""
    root = resources.checkout_root()
    if root is not None:
        return ["--volume", f"{root}:{CONTAINER_TFBUILD}:ro"]
    return ["--volume", f"{resources.package_dir()}:{CONTAINER_TFBUILD}/tfbuild:ro"]


def run_argv(profile: ResolvedProfile, ctx: Context, *, source: Path, build_args: Sequence[str],
             overrides: Sequence[str] = ()) -> list[str]:
    """`docker run` of `invoke build` inside the image, the tree and tfbuild mounted; the
    user's --set values first, then the image's paths."""
    dist = paths.expand(profile.settings.build.dist_dir)
    argv = ["docker", "run", "--rm", "--init", "--env", f"TFBUILD_STATE_DIR={CONTAINER_CACHE}/state",
            "--volume", f"{source}:{CONTAINER_SOURCE}",
            *tfbuild_volume(),
            "--volume", f"tfbuild-cache-{profile.name}:{CONTAINER_CACHE}",
            "--volume", f"{dist}:{CONTAINER_DIST}"]
    if profile.settings.cuda.enabled:
        argv += ["--gpus", "all"]
    profile_arg = profile.name
    if profile.path and profile.path.parent != PROFILES_DIR:
        argv += ["--volume", f"{profile.path}:/opt/profile.toml:ro"]
        profile_arg = "/opt/profile.toml"
    argv += [ctx.plan.image, "/opt/tfbuild-venv/bin/python", "-m", "tfbuild", "build", "--profile", profile_arg, "--source", CONTAINER_SOURCE]
    for value in [*overrides, *container_overrides(ctx.plan)]:
        argv += ["--set", value]
    return argv + list(build_args)


def build_in_docker(profile: ResolvedProfile, *, source: str | None, dry_run: bool,
                    request: BuildRequest, overrides: Sequence[str] = ()) -> int:
    """The same build request, run by tfbuild inside the image: the build there makes its
    plan (building.plan) from the same profile and flags."""
    build_args = request.as_flags()
    ctx = write_context(profile)
    src = paths.source_dir(profile.settings, source)
    argv = run_argv(profile, ctx, source=src, build_args=build_args, overrides=overrides)
    if dry_run:
        console.step(f"build --in-docker (dry run): image {ctx.plan.image}, "
                     f"Dockerfile {ctx.directory / 'Dockerfile'}")
        console.plain(shlex.join(argv))
        return 0
    runner = Runner(echo=True)
    require_engine(runner)
    return runner.stream(argv, on_line=lambda line: console.plain(line.rstrip("\n")))
