"""Compilers and build tools: clang (and its headers and libc++), lld, gcc/g++, patchelf,
Bazel and Python."""

from __future__ import annotations

import glob
import json
import os
import re
import shlex
import tempfile
from collections.abc import Mapping
from pathlib import Path

from tfbuild import versions
from tfbuild.discovery import bazelisk_cache
from tfbuild.discovery.facts import Bazel, Clang, Python, Tool
from tfbuild.discovery.programs import (probe, unique_by_target, version_key,
                                        which, which_matching)
from tfbuild.paths import SYSTEM_PATH, scratch_root, tool_bin_dir
from tfbuild.runner import Runner

ANSI = re.compile(r"\x1b\[[0-9;]*m")
LIBCXX_TRIPLE_DIR = "lib/x86_64-unknown-linux-gnu"
HEADER_DIRS = ("/usr/include", "/usr/include/c++", "/usr/lib/gcc/x86_64-linux-gnu",
               "/usr/include/x86_64-linux-gnu/c++")
DPKG_STATUS = "/var/lib/dpkg/status"
CXX_PROBE = "#include <memory>\n\nint main() { return 0; }\n"


# -- clang ---------------------------------------------------------------------------------------
def clang_candidates(*, explicit: str, prefix: str, major: int, env: Mapping[str, str]) -> list[str]:
    """Where to look, in order: the exact path, the profile's prefix, PATH, /usr/lib/llvm-*."""
    if explicit:
        return [str(Path(explicit).expanduser())]
    paths: list[str] = []
    if prefix:
        bindir = Path(prefix).expanduser() / "bin"
        paths += [str(bindir / "clang"), str(bindir / f"clang-{major}")]
    for name in ("clang", f"clang-{major}"):
        if found := which(name, env):
            paths.append(found)
    paths += which_matching(r"clang-\d+", env)
    paths += sorted(glob.glob("/usr/lib/llvm-*/bin/clang"), key=version_key, reverse=True)
    return unique_by_target(paths)


def bazel_clang_path(path: str) -> str | None:
    """The same compiler under a name ending in `clang` (TF's CUDA rules treat `clang-17` as
    not-clang). Never resolves to a name that does not end in `clang`."""
    if Path(path).name == "clang":
        return path
    sibling = Path(path).parent / "clang"
    if os.path.exists(sibling) and os.path.realpath(sibling) == os.path.realpath(path):
        return str(sibling)
    real = os.path.realpath(path)
    if Path(real).name == "clang":
        return real
    real_sibling = Path(real).parent / "clang"
    if os.path.exists(real_sibling) and os.path.realpath(real_sibling) == real:
        return str(real_sibling)
    return None


def libcxx_runtime_dir(clang_path: str, prefix: str) -> str | None:
    """A standalone LLVM install keeps libc++ in lib/x86_64-unknown-linux-gnu; that dir must be
    on LD_LIBRARY_PATH (else `undefined symbol: _ZNSt3__122__libcpp_verbose_abortEPKcz`)."""
    roots = []
    if prefix:
        roots.append(Path(prefix).expanduser())
    roots.append(Path(os.path.realpath(clang_path)).parent.parent)
    roots.append(Path(clang_path).parent.parent)
    for root in roots:
        candidate = root / LIBCXX_TRIPLE_DIR
        if glob.glob(str(candidate / "libc++.so*")):
            return str(candidate)
    return None


def parse_search_list(text: str) -> tuple[tuple[str, ...], str]:
    """`clang -E -xc++ - -v` stderr: the <...> include dirs and the selected GCC installation."""
    dirs: list[str] = []
    inside = False
    for line in text.splitlines():
        if line.startswith("#include <...> search starts here"):
            inside = True
            continue
        if line.startswith("End of search list"):
            inside = False
            continue
        if inside and line.startswith(" "):
            dirs.append(os.path.normpath(line.strip().split(" (")[0]))
    gcc = re.search(r"^Selected GCC installation: (.+)$", text, re.M)
    return tuple(dirs), gcc.group(1).strip() if gcc else ""


def find_clang(runner: Runner, *, explicit: str, prefix: str, major: int,
               env: Mapping[str, str]) -> Clang:
    prefix_dir = Path(prefix).expanduser() if prefix else None
    prefix_facts = dict(prefix=prefix, prefix_exists=bool(prefix_dir and os.path.isdir(prefix_dir)))
    candidates: list[tuple[str, str | None]] = []
    for path in clang_candidates(explicit=explicit, prefix=prefix, major=major, env=env):
        if not os.path.exists(path):
            continue
        ok, out = probe(runner, [path, "--version"], depends_on=[path])
        candidates.append((path, versions.clang(out) if ok else None))
    if not candidates:
        return Clang(**prefix_facts)
    chosen = next((c for c in candidates if c[1] and c[1].split(".")[0] == str(major)),
                  candidates[0])
    path, version = chosen
    compiles, error = _compiles_cxx(runner, path)
    _, search_out = probe(runner, [path, "-E", "-xc++", "-", "-v"], input="",
                          depends_on=header_dependencies(path))
    include_dirs, gcc_installation = parse_search_list(search_out)
    return Clang(
        path=path,
        bazel_path=bazel_clang_path(path),
        version=version,
        candidates=tuple(candidates),
        compiles_cxx=compiles,
        compile_error=error,
        include_dirs=include_dirs,
        gcc_installation=gcc_installation,
        libcxx_runtime_dir=libcxx_runtime_dir(path, prefix),
        **prefix_facts,
    )


def header_dependencies(clang: str) -> list[str]:
    """What a compile check's answer depends on: the compiler and the directories that gain or
    lose entries when headers or a GCC installation are added or removed."""
    real = Path(os.path.realpath(clang))
    return [clang, str(real.parent.parent / "lib"), *HEADER_DIRS]


def _compiles_cxx(runner: Runner, clang: str) -> tuple[bool, str]:
    """The notes' check: `clang test.cpp` with `#include <memory>` and no extra flags."""
    with tempfile.TemporaryDirectory(prefix="tfbuild-clang-", dir=scratch_root()) as tmp:
        source = Path(tmp) / "test.cpp"
        source.write_text(CXX_PROBE)
        ok, out = probe(runner, [clang, "-c", str(source), "-o", str(Path(tmp) / "test.o")],
                        depends_on=header_dependencies(clang), cache_key=f"compiles-cxx {clang}")
    return ok, "" if ok else out.strip()[-600:]


# -- other tools ---------------------------------------------------------------------------------
def lld_from_clang(answer: str) -> str | None:
    """The linker `clang -print-prog-name=ld.lld` names: an absolute path when clang finds one
    (beside itself, resolved, then in its PATH), else clang echoes the bare name back."""
    line = answer.strip().splitlines()[-1].strip() if answer.strip() else ""
    return line if os.path.isabs(line) else None


def find_lld(runner: Runner, clang: Clang, major: int, env: Mapping[str, str],
             action_path: str) -> Tool:
    """The ld.lld that clang runs for `-fuse-ld=lld` (TF's cuda_clang config), asked of clang
    itself under the PATH Bazel's actions get (`action_path`): clang looks for `ld.lld` by that
    name, so an `ld.lld-17` on the shell's PATH is not it. Found elsewhere under another name:
    named in `detail`, for doctor's fix."""
    elsewhere = [p for p in (which("ld.lld", env), which(f"ld.lld-{major}", env)) if p]
    detail = f"not run by clang: {', '.join(elsewhere)} (on your shell's PATH)" if elsewhere else ""
    if not clang.path:
        return Tool("ld.lld", detail=detail)
    ok, out = probe(runner, [clang.path, "-print-prog-name=ld.lld"], env={"PATH": action_path},
                    depends_on=[clang.path, *action_path.split(":")])
    path = lld_from_clang(out) if ok else None
    if not path or not os.access(path, os.X_OK):
        return Tool("ld.lld", detail=detail)
    ok, out = probe(runner, [path, "--version"], depends_on=[path])
    return Tool("ld.lld", path, versions.lld(out) if ok else None)


def find_versioned(runner: Runner, base: str, major: int, env: Mapping[str, str]) -> Tool:
    """gcc-12 / g++-12, else plain gcc / g++ (reported with its own version)."""
    for name in (f"{base}-{major}", base):
        path = which(name, env)
        if path:
            ok, out = probe(runner, [path, "--version"], depends_on=[path])
            return Tool(f"{base}-{major}", path, versions.gcc(out) if ok else None)
    return Tool(f"{base}-{major}")


def which_program(name: str, env: Mapping[str, str]) -> str | None:
    """Where the given environment's PATH has a program (no probe)."""
    return which(name, env)


def find_patchelf(runner: Runner, env: Mapping[str, str]) -> Tool:
    path = which("patchelf", env)
    if not path:
        return Tool("patchelf")
    ok, out = probe(runner, [path, "--version"], depends_on=[path])
    return Tool("patchelf", path, versions.patchelf(out) if ok else None)


def find_bazel(runner: Runner, *, explicit: str, source_dir: Path | None,
               env: Mapping[str, str], probe_version: bool = True) -> Bazel:
    """The profile's Bazel, else bazelisk, else bazel, else the bazelisk `invoke bazel-install`
    put in tfbuild's bin dir. Asked for its version inside the source tree, so that wrappers
    apply the tree's .bazelversion."""
    if explicit:
        path = str(Path(explicit).expanduser()) if os.path.exists(
            Path(explicit).expanduser()) else which(explicit, env)
    else:
        installed = tool_bin_dir() / "bazelisk"
        path = (which("bazelisk", env) or which("bazel", env)
                or (str(installed) if os.access(installed, os.X_OK) else None))
    if not path or not probe_version:
        return Bazel(path=path)
    missing = _bazelisk_would_download(path, source_dir, env)
    if missing:
        return Bazel(path=path, needs_download=missing,
                     error=f"bazelisk has no Bazel {missing} in {bazelisk_cache.home(env)} yet "
                     "(asking its version would start that download; doctor does not)")
    cwd = source_dir if source_dir and os.path.isdir(source_dir) else None
    bazelversion = [Path(cwd) / ".bazelversion"] if cwd else []
    ok, out = probe(runner, [path, "--version"], cwd=cwd, timeout=20,  # bazelisk offline retries ~30 s
                    depends_on=[path, Path(path).parent, *bazelversion])
    if not ok:
        return Bazel(path=path, error=ANSI.sub("", out).strip()[-800:])
    found = versions.bazel(out)
    if found:
        return Bazel(path=path, version=found, version_source="binary")
    packaged = _dpkg_version(runner, path)
    if packaged:
        return Bazel(path=path, version=packaged, version_source="dpkg")
    return Bazel(path=path, error=f"unrecognised version output: {out.strip()[:200]}")


def _bazelisk_would_download(path: str, source_dir: Path | None,
                             env: Mapping[str, str]) -> str | None:
    """The version bazelisk would download before answering `--version` (None: it would not)."""
    if not bazelisk_cache.is_bazelisk(path):
        return None
    wanted = bazelisk_cache.wanted_version(source_dir, env)
    return wanted if wanted and not bazelisk_cache.cached(wanted, env) else None


def _dpkg_version(runner: Runner, path: str) -> str | None:
    """Debian's bazel-bootstrap binary reports `bazel no_version`; its package knows."""
    ok, out = probe(runner, ["dpkg-query", "-S", os.path.realpath(path)],
                    depends_on=[path, DPKG_STATUS])
    if not ok or ":" not in out:
        return None
    package = out.split(":", 1)[0].strip()
    ok, out = probe(runner, ["dpkg-query", "-W", "-f=${Version}", package],
                    depends_on=[DPKG_STATUS])
    if not ok:
        return None
    match = re.match(r"(\d+\.\d+\.\d+)", out.strip())
    return match.group(1) if match else None


PYTHON_PROBE = (
    "import json, site, sys; print(json.dumps({'version': '%d.%d.%d' % sys.version_info[:3], "
    "'site': site.getsitepackages(), 'exe': sys.executable}))"
)


# What the interpreter's own metadata says is installed (importlib.metadata: pip's record),
# NVIDIA's packages only. Never cached: a `pip install` changes it, not the interpreter's file.
NVIDIA_PACKAGES_PROBE = (
    "import importlib.metadata as m, json, re; print(json.dumps(sorted({"
    "(d.metadata['Name'], d.version) for d in m.distributions() "
    "if re.match(r'nvidia[-_]', d.metadata['Name'] or '', re.I)})))"
)


def nvidia_packages(runner: Runner, python: str) -> tuple[tuple[str, str], ...] | None:
    """NVIDIA's pip distributions in `python` (name, version); None when it cannot be asked."""
    ok, out = probe(runner, [python, "-c", NVIDIA_PACKAGES_PROBE])
    try:
        return tuple((str(n), str(v)) for n, v in json.loads(out.strip().splitlines()[-1])) \
            if ok else None
    except (ValueError, IndexError, TypeError):
        return None


def uninstall_line(python: str, packages) -> str:
    """The exact command that removes them from that interpreter."""
    return shlex.join([python, "-m", "pip", "uninstall", "-y", *(name for name, _ in packages)])


def default_python(version: str = "") -> str | None:
    """The Python configure uses when toolchain.python is empty: `python3.X` (the profile's
    toolchain.python_version) or `python3` in the fixed system directories — never the shell's
    PATH, so that a venv or pyenv shim that happens to run tfbuild never reaches PYTHON_BIN_PATH
    (an action key): every machine with that system Python gets the same path."""
    system = {"PATH": ":".join(SYSTEM_PATH)}
    names = ([f"python{version}"] if version else []) + ["python3"]
    return next((found for name in names if (found := which(name, system))), None)


def find_python(runner: Runner, explicit: str, env: Mapping[str, str],
                version: str = "") -> Python:
    path = str(Path(explicit).expanduser()) if explicit else default_python(version)
    if not path or not os.path.exists(path):
        return Python(path=path or None)
    ok, out = probe(runner, [path, "-c", PYTHON_PROBE], depends_on=[path])
    if not ok:
        return Python(path=path)
    try:
        data = json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return Python(path=path)
    return Python(path=path, version=data["version"], executable=data["exe"],
                  site_packages=tuple(data["site"]))
