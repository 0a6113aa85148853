"""docker/: the build environment as a container image rendered from the profile, so that the
pins live in one place. `invoke docker-build` renders and builds it; `invoke build --in-docker`
runs the same pipeline inside it, with the TF source mounted."""

from __future__ import annotations

import collections
import os
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import jinja2

from tfbuild import console, pathcheck, paths, resources
from tfbuild.building.command import BuildRequest
from tfbuild.container import engine as engine_mod
from tfbuild.container import record
from tfbuild.container.plan import (CONTAINER_CACHE, CONTAINER_TFBUILD, ImagePlan,
                                    container_overrides, plan)
from tfbuild.errors import CommandError, ConfigError
from tfbuild.files import write_if_changed
from tfbuild.runner import Runner, quote
from tfbuild.settings import ResolvedProfile, resolve
from tfbuild.settings.resolve import PROFILES_DIR

TEMPLATES = resources.path("docker")
LAST_LINES = 15


def _env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                             autoescape=False)
    env.filters["shquote"] = shlex.quote
    return env


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
    for script in ("install_cuda_redist.py", "install_cuda_wheels.py"):
        write_if_changed(directory / script, (TEMPLATES / script).read_text())
    _write_certificates(directory / "ca", profile.settings.docker.ca_certificates)
    return Context(directory, p)


def _write_certificates(directory: Path, sources: Sequence[str]) -> None:
    """docker.ca_certificates as ca/tfbuild-N.crt (update-ca-certificates takes only .crt);
    each must be a readable PEM certificate."""
    directory.mkdir(exist_ok=True)
    wanted = set()
    for index, source in enumerate(sources):
        path = paths.expand(source)
        text = pathcheck.read_text(pathcheck.readable_file(path, "docker.ca_certificates"),
                                   "docker.ca_certificates")
        if "-----BEGIN CERTIFICATE-----" not in text:
            raise ConfigError(f"docker.ca_certificates: {path} is not a PEM certificate",
                              hint="give the CA's certificate in PEM form (-----BEGIN "
                              "CERTIFICATE-----), e.g. from /usr/local/share/ca-certificates")
        name = f"tfbuild-{index}.crt"
        wanted.add(name)
        write_if_changed(directory / name, text)
    for stale in directory.iterdir():
        if stale.name not in wanted:
            stale.unlink()


def docker_build(profile_ref: str | None = None, *, overrides: Sequence[str] = (),
                 dry_run: bool = False) -> int:
    profile = resolve(profile_ref, overrides=overrides)
    ctx = write_context(profile)
    console.step(f"Dockerfile for profile {profile.name}: {ctx.directory / 'Dockerfile'}")
    choice = profile.settings.docker.engine
    if dry_run:
        for name in (engine_mod.ENGINES if choice == "auto" else (choice,)):
            console.plain(quote(engine_mod.build_argv(name, ctx.plan.image, str(ctx.directory))))
        return 0
    runner = Runner(echo=True)
    engine = engine_mod.detect(choice, runner)
    argv = engine_mod.build_argv(engine, ctx.plan.image, str(ctx.directory))
    code = runner.stream(argv, env=engine_mod.build_env(engine),
                         on_line=lambda line: console.plain(line.rstrip("\n")))
    if code:
        raise CommandError(f"{engine.name} build failed with exit code {code}", argv=argv,
                           returncode=code,
                           hint="the lines above say which step; a source the profile names "
                           "(docker.base_image, docker.apt_sources, mirrors.pip_index, "
                           "docker.bazelisk_url, docker.llvm_apt_url) may not answer")
    console.success(f"image {ctx.plan.image} built by {engine.describe()} "
                    f"({engine_mod.image_id(engine, ctx.plan.image, runner)}); "
                    "`invoke build --in-docker` uses it")
    return 0


def tfbuild_volume() -> list[str]:
    """tfbuild's code for the image's PYTHONPATH (/opt/tfbuild): the whole checkout when run
    from one (tfbuild/resources/ links into it), else the installed package, which carries its
    files."""
    root = resources.checkout_root()
    if root is not None:
        return ["--volume", f"{root}:{CONTAINER_TFBUILD}:ro"]
    return ["--volume", f"{resources.package_dir()}:{CONTAINER_TFBUILD}/tfbuild:ro"]


# Bazel's bazel-* links in the tree would point into the container's /cache: not made, so the
# tree keeps what a host build left there
NO_TREE_LINKS = "--bazel-opt=--experimental_convenience_symlinks=ignore"
FORWARDED_ENV = ("TZ", "LANG", "LC_ALL", "BAZELISK_BASE_URL")


def outside_git_dir(source: Path, runner: Runner) -> Path | None:
    """The repository a worktree's `.git` file points to, when it lies outside the tree (git
    says where: `rev-parse --git-common-dir`): mounted too, so that git works inside."""
    if not (source / ".git").is_file():
        return None
    result = runner.run(["git", "-C", str(source), "rev-parse", "--path-format=absolute",
                         "--git-common-dir"], check=False, quiet=True, timeout=60)
    found = Path(result.stdout.strip()) if result.ok and result.stdout.strip() else None
    if found is None or found == source or source in found.parents:
        return None
    return found


def run_argv(profile: ResolvedProfile, ctx: Context, *, source: Path, build_args: Sequence[str],
             overrides: Sequence[str] = (), engine: engine_mod.EngineName = "docker",
             rootless: bool = False, name: str = "tfbuild-build", image_id: str = "",
             uid: int | None = None, gid: int | None = None,
             state: Path | None = None, git_dir: Path | None = None,
             env: Mapping[str, str] | None = None) -> list[str]:
    """`run` of `invoke build` inside the image, as the invoking user; the user's --set values
    first, then the image's paths. The tree, dist/ and tfbuild's state root are mounted at
    their host paths, so that patch records, backups and SHA256SUMS are the same ones a host
    build reads and writes; Bazel's output root and disk cache live in the cache volume. No
    `--rm`: the container is named, its exit status asked of the engine, then it is removed
    (engine.py says why)."""
    dist = paths.expand(profile.settings.build.dist_dir)
    state = paths.state_root() if state is None else state
    volume = profile.settings.docker.cache_volume.replace("{profile}", profile.name)
    uid = os.getuid() if uid is None else uid
    gid = os.getgid() if gid is None else gid
    argv = [engine, "run", "--name", name, "--init", "--network=host",
            *engine_mod.user_flags(engine, rootless, uid, gid),
            "--env", f"HOME={CONTAINER_CACHE}/home", "--env", f"TFBUILD_STATE_DIR={state}"]
    for key, value in record.host_env(engine, ctx.plan.image, image_id).items():
        argv += ["--env", f"{key}={value}"]
    shell = os.environ if env is None else env
    for key in FORWARDED_ENV:  # time zone, locale and Bazel mirror, as a host build has them
        if shell.get(key):
            argv += ["--env", f"{key}={shell[key]}"]
    header = profile.settings.remote.header_env
    if header:  # the remote cache's credentials: by name, the engine copies the value over
        argv += ["--env", header]
    argv += ["--volume", f"{source}:{source}",
             "--volume", f"{state}:{state}",
             *(["--volume", f"{git_dir}:{git_dir}"] if git_dir else []),
             *tfbuild_volume(),
             "--volume", f"{volume}:{CONTAINER_CACHE}",
             "--volume", f"{dist}:{dist}"]
    if profile.settings.cuda.enabled:
        argv += engine_mod.gpu_flags(engine)
    profile_arg = profile.name
    if profile.path and profile.path.parent != PROFILES_DIR:
        # the profile and the files it extends, at their host paths (relative `extends` hold)
        for path in [p for p in profile.chain if Path(p).parent != PROFILES_DIR]:
            argv += ["--volume", f"{path}:{path}:ro"]
        profile_arg = str(profile.path)
    argv += ["--workdir", str(source), ctx.plan.image, "/opt/tfbuild-venv/bin/python", "-m",
             "tfbuild", "build", "--profile", profile_arg, "--source", str(source)]
    for value in [*overrides, *container_overrides(ctx.plan), f"tensorflow.source_dir={source}",
                  f"build.dist_dir={dist}"]:
        argv += ["--set", value]
    return argv + [*build_args, NO_TREE_LINKS]


def build_in_docker(profile: ResolvedProfile, *, source: str | None, dry_run: bool,
                    request: BuildRequest, overrides: Sequence[str] = ()) -> int:
    """The same build request, run by tfbuild inside the image: the build there makes its
    plan (building.plan) from the same profile and flags. Returns the build's own exit
    status (the container's, asked of the engine)."""
    build_args = request.as_flags()
    ctx = write_context(profile)
    src = paths.source_dir(profile.settings, source)
    choice = profile.settings.docker.engine
    if dry_run:
        console.step(f"build --in-docker (dry run): image {ctx.plan.image}, "
                     f"Dockerfile {ctx.directory / 'Dockerfile'}")
        argv = run_argv(profile, ctx, source=src, build_args=build_args, overrides=overrides,
                        engine="podman" if choice == "podman" else "docker")
        console.plain(shlex.join(argv))
        return 0
    runner = Runner(echo=True)
    engine = engine_mod.detect(choice, runner)
    image_id = engine_mod.image_id(engine, ctx.plan.image, runner)
    if not image_id:
        raise ConfigError(f"{engine.name} has no image {ctx.plan.image}",
                          hint=f"build it first: invoke docker-build --profile {profile.name}")
    dist = paths.expand(profile.settings.build.dist_dir)
    for made in (dist, paths.state_root()):  # made by the engine they would be root's
        made.mkdir(parents=True, exist_ok=True)
    for what, path in (("the TF tree (--source)", src), ("build.dist_dir", dist),
                       ("tfbuild's state directory (TFBUILD_STATE_DIR)", paths.state_root())):
        if ":" in str(path) or "," in str(path):
            raise ConfigError(f"{what} {path} contains ':' or ',', which a container volume "
                              "cannot mount", hint="use a path without them (or a link to it)")
    name = engine_mod.container_name(profile.name)
    argv = run_argv(profile, ctx, source=src, build_args=build_args, overrides=overrides,
                    engine=engine.name, rootless=engine.rootless, name=name, image_id=image_id,
                    git_dir=outside_git_dir(src, runner))
    last: collections.deque[str] = collections.deque(maxlen=LAST_LINES)

    def show(line: str) -> None:
        last.append(line.rstrip("\n"))
        console.plain(line.rstrip("\n"))

    try:
        cli_code = runner.stream(argv, on_line=show)
        code = engine_mod.exit_status(engine, name, cli_code, runner)
    finally:
        engine_mod.remove(engine, name, runner)
    if code:
        console.error(f"the build in the container ({engine.describe()}, image "
                      f"{ctx.plan.image}) failed with exit code {code}; its last lines:")
        for line in last:
            console.plain(f"  {line}")
    return code
