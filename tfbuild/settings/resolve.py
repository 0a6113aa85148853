"""Resolve settings in one documented order, remembering where each value came from:

    packaged defaults  ->  profile (bases first, via `extends`)  ->  TFBUILD_* environment
    ->  `--set section.key=value` on the command line

Tables (build.repo_env) merge key by key; every other value is replaced by the later layer.
"""

from __future__ import annotations

import dataclasses
import os
import re
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tfbuild import resources
from tfbuild import toml as tomllib
from tfbuild.errors import ConfigError
from tfbuild.pathcheck import broken_link, read_text, readable_file
from tfbuild.settings import validate as validate_mod
from tfbuild.settings.model import SECTIONS, Settings, key_specs
from tfbuild.settings.validate import validate
from tfbuild.settings.values import check_value, parse_text, suggest

DEFAULTS_FILE = resources.data_file("defaults.toml")
PROFILES_DIR = resources.path("profiles")
DEFAULT_PROFILE = "cpu"
ENV_PREFIX = "TFBUILD_"
# TFBUILD_* variables that are not settings.
RESERVED_ENV = {"TFBUILD_PROFILE", "TFBUILD_DEBUG", "TFBUILD_COLOR", "TFBUILD_PROFILES_DIR",
                "TFBUILD_STATE_DIR",
                # what `build --in-docker` tells the build inside about its image (container.record)
                "TFBUILD_CONTAINER_ENGINE", "TFBUILD_CONTAINER_IMAGE", "TFBUILD_CONTAINER_IMAGE_ID"}
PROFILE_META = {"description", "extends"}
MAX_EXTENDS = 32  # deeper is a generated mistake, not a team's layering
MAX_PROFILE_BYTES = 1024**2
# A profile's name (its file name without .toml) names dist/<profile>/, the rendered Dockerfile's
# directory and the rc file's header: one path component of printable characters.
_PROFILE_NAME = re.compile(r"^[\w][\w.+-]*\Z")


@dataclass(frozen=True)
class Source:
    """Where a value came from: kind is default, profile, env or cli."""

    kind: str
    detail: str

    def __str__(self) -> str:
        return self.kind if self.kind == "default" else f"{self.kind}: {self.detail}"


@dataclass(frozen=True)
class ResolvedProfile:
    name: str
    path: Path | None
    chain: tuple[Path, ...]
    description: str
    settings: Settings
    sources: Mapping[str, Source]

    def value_rows(self) -> list[tuple[str, object, Source]]:
        return [(key, self.settings.get(key), self.sources[key]) for key in key_specs()]


# -- locating profiles ---------------------------------------------------------------------------
def profile_dirs(env: Mapping[str, str]) -> list[Path]:
    dirs = []
    if env.get("TFBUILD_PROFILES_DIR"):
        given = Path(env["TFBUILD_PROFILES_DIR"]).expanduser()
        broken_link(given, "TFBUILD_PROFILES_DIR")
        if not given.exists():
            raise ConfigError(f"TFBUILD_PROFILES_DIR: {given} does not exist",
                              hint="point TFBUILD_PROFILES_DIR at the directory of your profiles, "
                              "or unset it")
        if given.exists() and not given.is_dir():
            raise ConfigError(f"TFBUILD_PROFILES_DIR: {given} is a file, not a directory",
                              hint="point TFBUILD_PROFILES_DIR at the directory of your profiles")
        dirs.append(given)
    dirs.append(PROFILES_DIR)
    return dirs


def available_profiles(env: Mapping[str, str] = os.environ) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for directory in reversed(profile_dirs(env)):
        if directory.is_dir():
            for path in sorted(directory.glob("*.toml")):
                found[path.stem] = path
    return dict(sorted(found.items()))


def locate_profile(ref: str, env: Mapping[str, str], relative_to: Path | None = None) -> Path:
    """A profile name (`rtx3050`) or a path to a .toml file."""
    if not ref.strip():
        raise ConfigError("--profile is empty", hint="give a profile name (invoke profiles) or a "
                          "path to a .toml file, or leave --profile out for $TFBUILD_PROFILE or cpu")
    if ref.endswith(".toml") or "/" in ref:
        path = Path(ref).expanduser()
        if not path.is_absolute() and relative_to is not None:
            path = relative_to / path
        what = "--profile" if relative_to is None else f"extends in {relative_to}"
        broken_link(path, what)
        if not path.exists():
            raise ConfigError(f"{what}: profile file {path} does not exist",
                              hint="give an existing .toml file or a profile name")
        readable_file(path, what)
        return path.resolve()
    profiles = available_profiles(env)
    if ref in profiles:
        return profiles[ref]
    raise ConfigError(
        f"no profile named {ref!r}{suggest(ref, profiles)}",
        hint="choose one of: " + ", ".join(profiles) + " (invoke profiles), "
        "or pass a path to a .toml file",
    )


def base_candidates(name: str, env: Mapping[str, str], extending: Path) -> list[Path]:
    """Where `extends = "name"` is looked for, in order: beside the extending file (teams keep
    their profiles together), then $TFBUILD_PROFILES_DIR, then tfbuild's profiles/. The
    extending file itself is skipped, so a team's `cpu.toml` may extend the shipped "cpu"."""
    out: list[Path] = []
    for directory in (extending.parent, *profile_dirs(env)):
        candidate = directory / f"{name}.toml"
        if candidate not in out:
            out.append(candidate)
    return out


def locate_base(ref: str, env: Mapping[str, str], extending: Path) -> Path:
    """The profile an `extends` names: a path (relative to the extending file) or a name."""
    if ref.endswith(".toml") or "/" in ref:
        return locate_profile(ref, env, relative_to=extending.parent)
    looked = base_candidates(ref, env, extending)
    for candidate in looked:
        if candidate.exists() and candidate.resolve() != extending.resolve():
            readable_file(candidate, f"extends in {extending}")
            return candidate.resolve()
    raise ConfigError(
        f"extends in {extending}: no profile named {ref!r}; looked for "
        + ", ".join(str(p) for p in looked),
        hint="put " + f"{ref}.toml beside {extending.name}, or give extends a path to a .toml file"
        + suggest(ref, available_profiles(env)).replace(" (", " (or ", 1))


def _read_toml(path: Path, what: str = "profile") -> dict:
    text = read_text(path, what, limit=MAX_PROFILE_BYTES)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}",
                          hint=f"fix the syntax of {path} at the line and column shown") from None


# -- layers --------------------------------------------------------------------------------------
def _flatten(doc: dict, where: str, *, allow_meta: bool) -> dict[str, object]:
    specs = key_specs()
    flat: dict[str, object] = {}
    allowed_top = set(SECTIONS) | (PROFILE_META if allow_meta else set())
    for top, body in doc.items():
        if top in PROFILE_META and allow_meta:
            continue
        if top not in SECTIONS:
            raise ConfigError(f"{where}: unknown section [{top}]{suggest(top, allowed_top)}",
                              hint=f"sections are: {', '.join(sorted(allowed_top))}")
        if not isinstance(body, dict):
            raise ConfigError(f"{where}: {top} must be a table ([{top}])",
                              hint=f"write [{top}] followed by key = value lines")
        for key, value in body.items():
            dotted = f"{top}.{key}"
            if dotted not in specs:
                keys = [s.key for s in specs.values() if s.section == top]
                raise ConfigError(f"{where}: unknown key {dotted}{suggest(key, keys)}",
                                  hint=f"keys of [{top}] are: {', '.join(keys)}")
            flat[dotted] = check_value(dotted, specs[dotted].type, value, where)
    return flat


def _profile_layers(path: Path, env: Mapping[str, str], seen: tuple[Path, ...] = (),
                    what: str = "--profile") -> list[tuple[Path, dict, dict[str, object]]]:
    if path in seen:
        cycle = " -> ".join(p.name for p in (*seen, path))
        raise ConfigError(f"profile extends itself: {cycle}",
                          hint=f"remove the `extends` that closes the loop in {path}")
    if len(seen) >= MAX_EXTENDS:
        raise ConfigError(f"{path}: the `extends` chain from {seen[0]} is more than {MAX_EXTENDS} "
                          "profiles deep", hint="flatten the chain: let a profile extend one "
                          "that holds the shared settings")
    doc = _read_toml(path, what)
    flat = _flatten(doc, str(path), allow_meta=True)
    extends = doc.get("extends")
    layers: list[tuple[Path, dict, dict[str, object]]] = []
    if extends is not None:
        if not isinstance(extends, str) or not extends.strip():
            raise ConfigError(f"{path}: extends must be a profile name or path (a non-empty string)",
                              hint=f"write extends = \"cpu\" (or a path) in {path}, or remove it")
        base = locate_base(extends, env, path)
        layers.extend(_profile_layers(base, env, (*seen, path), f"extends in {path}"))
    layers.append((path, doc, flat))
    return layers


def _env_layer(env: Mapping[str, str]) -> list[tuple[str, object, Source]]:
    specs = key_specs()
    by_env = {ENV_PREFIX + d.replace(".", "_").upper(): d for d in specs}
    out = []
    for name in sorted(env):
        if not name.startswith(ENV_PREFIX) or name in RESERVED_ENV:
            continue
        dotted = by_env.get(name)
        if dotted is None:
            raise ConfigError(
                f"environment variable {name} is not a tfbuild setting"
                f"{suggest(name, list(by_env) + sorted(RESERVED_ENV))}",
                hint=f"unset {name}, or use TFBUILD_<SECTION>_<KEY> (e.g. TFBUILD_BUILD_JOBS)",
            )
        out.append((dotted, parse_text(dotted, specs[dotted].type, env[name], name),
                    Source("env", name)))
    return out


def _cli_layer(overrides: Sequence[str]) -> list[tuple[str, object, Source, str | None]]:
    specs = key_specs()
    out = []
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected section.key=value",
                              hint="write it as --set build.jobs=8")
        dotted, _, text = item.partition("=")
        dotted = dotted.strip()
        subkey = None
        if dotted not in specs:
            # a table's entry: section.key.<entry>, where the entry may hold dots (a host name)
            head = next((k for k in specs if typing.get_origin(specs[k].type) is dict
                         and dotted.startswith(k + ".") and len(dotted) > len(k) + 1), None)
            if head is not None:
                dotted, subkey = head, dotted[len(head) + 1:]
            else:
                raise ConfigError(f"--set {item!r}: unknown key {dotted!r}{suggest(dotted, specs)}",
                                  hint="see `invoke profiles --show NAME` for every key")
        where = f"--set {item}"
        if subkey is not None:
            value: object = text
        else:
            value = parse_text(dotted, specs[dotted].type, text, where)
        out.append((dotted, value, Source("cli", where), subkey))
    return out


# -- resolution ----------------------------------------------------------------------------------
def resolve(
    profile: str | None = None,
    *,
    env: Mapping[str, str] | None = None,
    overrides: Sequence[str] = (),
) -> ResolvedProfile:
    env = os.environ if env is None else env
    ref = profile or env.get("TFBUILD_PROFILE") or DEFAULT_PROFILE
    specs = key_specs()

    values = _flatten(_read_toml(DEFAULTS_FILE), str(DEFAULTS_FILE), allow_meta=False)
    missing = set(specs) - set(values)
    if missing:  # a packaging bug, caught by the tests
        raise ConfigError(f"packaged defaults lack: {', '.join(sorted(missing))}")
    sources: dict[str, Source] = {key: Source("default", "") for key in specs}

    path = locate_profile(ref, env)
    check_profile_name(path)
    layers = _profile_layers(path, env)
    description = ""
    for layer_path, doc, flat in layers:
        description = doc.get("description", description)
        if not isinstance(description, str) or validate_mod.unsafe_text(description):
            raise ConfigError(f"{layer_path}: description {validate_mod.short_repr(description)} "
                              + (validate_mod.unsafe_text(description) if isinstance(
                                  description, str) else "is not a string"),
                              hint=f"make it one line of printable text in {layer_path}")
        for dotted, value in flat.items():
            _assign(values, dotted, value)
            sources[dotted] = Source("profile", display_path(layer_path))

    for dotted, value, source in _env_layer(env):
        _assign(values, dotted, value)
        sources[dotted] = source
    for dotted, value, source, subkey in _cli_layer(overrides):
        if subkey is not None:
            merged = dict(values[dotted])  # type: ignore[arg-type]
            merged[subkey] = value
            values[dotted] = merged
        else:
            _assign(values, dotted, value)
        sources[dotted] = source

    settings = _build(values)
    validate(settings, sources)
    return ResolvedProfile(
        name=path.stem,
        path=path,
        chain=tuple(p for p, _, _ in layers),
        description=str(description),
        settings=settings,
        sources=sources,
    )


def check_profile_name(path: Path) -> None:
    """The name (file name without .toml) becomes dist/<name>/ and part of rendered files: a
    single path component of letters, digits, `_`, `.`, `+`, `-`, not starting with a dot."""
    name = path.stem
    if not _PROFILE_NAME.match(name):
        shown = validate_mod.short_repr(name)
        raise ConfigError(f"--profile {validate_mod.short_repr(str(path))}: the profile name {shown} "
                          "(its file name without .toml) is not usable: it names dist/<profile>/ "
                          "and the rendered files", hint="rename the file to letters, digits, "
                          "_ . + - (not starting with a dot), e.g. team-gpu.toml")


def _assign(values: dict[str, object], dotted: str, value: object) -> None:
    if isinstance(value, dict) and isinstance(values.get(dotted), dict):
        merged = dict(values[dotted])  # type: ignore[arg-type]
        merged.update(value)
        values[dotted] = merged
    else:
        values[dotted] = value


def _build(values: Mapping[str, object]) -> Settings:
    sections = {}
    for section, cls in SECTIONS.items():
        kwargs = {f.name: values[f"{section}.{f.name}"] for f in dataclasses.fields(cls)}
        sections[section] = cls(**kwargs)
    return Settings(**sections)


def display_path(path: Path) -> str:
    try:
        return str(path.relative_to(PROFILES_DIR.parent))
    except ValueError:
        return str(path)
