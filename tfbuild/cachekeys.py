"""What reaches Bazel's cache keys, and which of it is user- or machine-specific (pure).

Every `--action_env` value, copt, `--python_path` and `--define` is part of every action's key
(with the action's inputs and command line); `--repo_env` values reach repositories, and reach
actions only where a repository writes them into a generated file. Options such as the output
root, the disk or remote cache and job counts change where results are kept, not the keys.

Used by doctor's `build.cache_keys` row (why would a teammate miss the cache?) and by
`invoke manifest --diff` (can two builds' action keys match?).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tfbuild.paths import RC_NAME

ACTION, REPOSITORY = "action", "repository"
RC = RC_NAME  # the origin of a key input read from the rc
COMMAND_LINE = "command line"

ACTION_OPTIONS = frozenset({
    "--action_env", "--host_action_env", "--copt", "--host_copt", "--cxxopt", "--host_cxxopt",
    "--conlyopt", "--host_conlyopt", "--linkopt", "--host_linkopt", "--python_path", "--define",
    "--features", "--host_features", "--compilation_mode", "-c", "--cpu", "--host_cpu",
    "--crosstool_top", "--host_crosstool_top", "--platforms", "--test_env",
    "--incompatible_strict_action_env", "--noincompatible_strict_action_env", "--stamp",
    "--nostamp", "--strip", "--fission", "--dynamic_mode", "--per_file_copt",
    "--host_per_file_copt", "--@local_config_cuda//cuda:include_cuda_libs",
})
REPOSITORY_OPTIONS = frozenset({"--repo_env"})
# Where results are kept, how fast, what is shown: never part of an action's key.
NOT_IN_KEYS = (
    "--output_user_root", "--output_base", "--disk_cache", "--remote_", "--noremote_",
    "--local_cpu_resources", "--local_ram_resources", "--jobs", "--color", "--curses",
    "--show_progress", "--distdir", "--repository_cache", "--keep_going", "--verbose_failures",
    "--build_event_", "--profile", "--experimental_downloader_config", "--announce_rc",
    "--execution_log_", "--tls_", "--google_", "--credential_helper", "--bes_", "--nohome_rc",
    "--nosystem_rc", "--max_idle_secs", "--host_jvm_args", "--spawn_strategy", "--strategy",
    "--config", "--nobuild", "--experimental_", "--test_output", "--sandbox_",
)


@dataclass(frozen=True)
class KeyInput:
    """One value that reaches Bazel's keys: `option` (e.g. --action_env) with its `value`."""

    origin: str  # RC or COMMAND_LINE
    config: str  # "" for plain `build`, else the config name (`build:cuda`)
    option: str
    value: str
    reach: str  # ACTION or REPOSITORY

    @property
    def text(self) -> str:
        where = f"build:{self.config}" if self.config else "build"
        value = f"={self.value}" if self.value else ""
        return f"{where} {self.option}{value}"

    def as_dict(self) -> dict:
        return {"origin": self.origin, "config": self.config, "option": self.option,
                "value": self.value, "reach": self.reach}


@dataclass(frozen=True)
class Places:
    """Directories that differ from user to user or machine to machine (from discovery)."""

    homes: tuple[str, ...] = ("/home/", "/root/")
    temp: tuple[str, ...] = ("/tmp/", "/var/tmp/")
    venvs: tuple[str, ...] = ()
    state: tuple[str, ...] = ()
    checkout: tuple[str, ...] = ()

    def kinds(self, path: str) -> list[str]:
        found = []
        for kind, prefixes in (("a home directory", self.homes), ("a temp directory", self.temp),
                               ("a virtual environment", self.venvs),
                               ("tfbuild's state dir", self.state),
                               ("the checkout", self.checkout)):
            if any(_under(path, p) for p in prefixes if p):
                found.append(kind)
        if re.search(r"/\.pyenv/|/(\.?venv|virtualenvs?|\.conda|miniconda3|anaconda3)/",
                     path + "/") and "a virtual environment" not in found:
            found.append("a virtual environment")
        return found


@dataclass(frozen=True)
class Finding:
    input: KeyInput
    path: str
    kinds: tuple[str, ...]
    key: str  # the profile key (or flag) that puts it there

    @property
    def text(self) -> str:
        return f"{self.input.text} ({self.path}: under {', '.join(self.kinds)})"


def _under(path: str, prefix: str) -> bool:
    prefix = prefix.rstrip("/")
    return path == prefix or path.startswith(prefix + "/")


# Options that take no value: a following word is not theirs.
FLAGS_WITHOUT_VALUE = frozenset({"--incompatible_strict_action_env",
                                 "--noincompatible_strict_action_env", "--stamp", "--nostamp"})


def _split_option(token: str, following: str | None) -> tuple[str, str, bool]:
    """(--option, value, consumed the next token): `--x=v`, or `--x v` for the options above."""
    if "=" in token:
        name, _, value = token.partition("=")
        return name, value, False
    takes_value = token in ACTION_OPTIONS | REPOSITORY_OPTIONS and token not in FLAGS_WITHOUT_VALUE
    if takes_value and following is not None and not following.startswith("-"):
        return token, following, True
    return token, "", False


def _classify(option: str) -> str | None:
    if option in REPOSITORY_OPTIONS:
        return REPOSITORY
    if option in ACTION_OPTIONS:
        return ACTION
    if option.startswith(NOT_IN_KEYS):
        return None
    return ACTION  # an option tfbuild does not know: assume it may change action keys


def _inputs(tokens: Sequence[str], origin: str, config: str) -> list[KeyInput]:
    out: list[KeyInput] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if not token.startswith("-"):
            i += 1
            continue
        option, value, consumed = _split_option(token, tokens[i + 1] if i + 1 < len(tokens) else None)
        reach = _classify(option)
        if reach:
            out.append(KeyInput(origin, config, option, value, reach))
        i += 2 if consumed else 1
    return out


def from_rc(text: str) -> list[KeyInput]:
    """The `build` and `build:<config>` lines of an rc file (comments and other commands
    skipped; a line that does not parse is skipped)."""
    out: list[KeyInput] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            words = shlex.split(line)
        except ValueError:
            continue
        command, _, config = words[0].partition(":")
        if command != "build":
            continue
        out += _inputs(words[1:], RC, config)
    return out


def from_options(options: Iterable[str]) -> list[KeyInput]:
    return _inputs(list(options), COMMAND_LINE, "")


def action_environments(inputs: Iterable[KeyInput]) -> dict[str, dict[str, str]]:
    """What plain `build` gives actions (`--action_env`) and the tools built for the build, in
    Bazel's exec configuration (`--host_action_env`), by variable name; the last value wins,
    as in Bazel."""
    out: dict[str, dict[str, str]] = {"--action_env": {}, "--host_action_env": {}}
    for item in inputs:
        if item.option in out and not item.config and "=" in item.value:
            name, _, value = item.value.partition("=")
            out[item.option][name] = value
    return out


def _paths_in(value: str) -> list[str]:
    """Absolute paths in a value: `NAME=/a:/b`, `/x`, `-I/x`, `-L/x`, `-B/x`, `--dir=/x`."""
    return re.findall(r"(?:^|(?<=[=:\s,;\"'])|(?<=-[ILB]))(/(?!/)[^\s:=,;\"']+)", value)


def profile_key(item: KeyInput) -> str:
    name = item.value.split("=", 1)[0] if item.option in ("--action_env", "--repo_env",
                                                          "--host_action_env") else ""
    return {
        "PYTHON_BIN_PATH": "toolchain.python", "PYTHON_LIB_PATH": "toolchain.python",
        "PATH": "toolchain.clang_prefix / toolchain.clang_path / cuda.local_cuda_path",
        "LD_LIBRARY_PATH": "toolchain.clang_prefix / cuda.local_cuda_path / cuda.local_cudnn_path",
        "CLANG_CUDA_COMPILER_PATH": "toolchain.clang_path", "CLANG_COMPILER_PATH": "toolchain.clang_path",
        "CC": "toolchain.clang_path", "BAZEL_COMPILER": "toolchain.clang_path",
        "LOCAL_CUDA_PATH": "cuda.local_cuda_path (or cuda.layout_fix)",
        "LOCAL_CUDNN_PATH": "cuda.local_cudnn_path", "LOCAL_NCCL_PATH": "cuda.local_nccl_path",
        "PIP_INDEX_URL": "mirrors.pip_index",
    }.get(name, "toolchain.python" if item.option == "--python_path" else
          "build.cc_opt_flags" if item.option in ("--copt", "--host_copt") and item.origin == RC
          else "build.bazel_options / build.repo_env / --bazel-opt" if item.origin == COMMAND_LINE
          else "the profile")


def machine_specific(inputs: Iterable[KeyInput], places: Places) -> list[Finding]:
    findings = []
    for item in inputs:
        for path in _paths_in(item.value):
            kinds = places.kinds(path)
            if kinds:
                findings.append(Finding(item, path, tuple(kinds), profile_key(item)))
    return findings


@dataclass(frozen=True)
class KeyComparison:
    """Whether two builds' action keys can match, and why not."""

    action_only_in_a: tuple[str, ...]
    action_only_in_b: tuple[str, ...]
    repository_only_in_a: tuple[str, ...]
    repository_only_in_b: tuple[str, ...]
    toolchain: tuple[tuple[str, object, object], ...]

    @property
    def can_match(self) -> bool:
        return not (self.action_only_in_a or self.action_only_in_b or self.toolchain)


# Toolchain facts that decide what the compilers and scripts produce (Bazel's own path does not).
TOOLCHAIN_IDENTITY = (("clang", "path"), ("clang", "version"), ("lld", "version"),
                      ("gcc", "version"), ("g++", "version"), ("bazel", "version"),
                      ("python", "path"), ("python", "version"), ("cuda", "root"),
                      ("cuda", "version"), ("cudnn", "root"), ("cudnn", "version"))


def _toolchain_value(toolchain: dict, tool: str, field: str) -> object:
    entry = (toolchain or {}).get(tool)
    return entry.get(field) if isinstance(entry, dict) else None


def install_paths(inputs: Iterable[KeyInput], fixed: Iterable[str] = ()) -> list[str]:
    """The absolute paths in values that reach action keys (PATH and LD_LIBRARY_PATH entries,
    compilers, Python): every machine sharing a cache must have them identical. `fixed`: the
    system directories every Linux has, left out."""
    skip = set(fixed)
    found: dict[str, None] = {}
    for item in inputs:
        if item.reach != ACTION:
            continue
        value = item.value.split("=", 1)[1] if "=" in item.value else item.value
        for part in value.strip('"').split(":"):
            if part.startswith("/") and part not in skip:
                found[part.rstrip("/") or "/"] = None
    return sorted(found)


def compare(a: dict, b: dict) -> KeyComparison:
    """Compare the `cache_keys` and `toolchain` sections of two manifests."""
    def texts(manifest: dict, reach: str) -> set[str]:
        items = (manifest.get("cache_keys") or {}).get("inputs") or []
        return {KeyInput(**i).text for i in items if i.get("reach") == reach}

    tool_a, tool_b = a.get("toolchain") or {}, b.get("toolchain") or {}
    toolchain = tuple((f"{tool}.{field}", va, vb) for tool, field in TOOLCHAIN_IDENTITY
                      if (va := _toolchain_value(tool_a, tool, field))
                      != (vb := _toolchain_value(tool_b, tool, field)))
    act_a, act_b = texts(a, ACTION), texts(b, ACTION)
    rep_a, rep_b = texts(a, REPOSITORY), texts(b, REPOSITORY)
    return KeyComparison(tuple(sorted(act_a - act_b)), tuple(sorted(act_b - act_a)),
                         tuple(sorted(rep_a - rep_b)), tuple(sorted(rep_b - rep_a)), toolchain)
