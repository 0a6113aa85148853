"""The archives a TensorFlow tree declares, read from its Starlark without running Bazel.

Workspace `.bzl` files (and WORKSPACE) are parsed with Python's `ast` (Starlark's syntax is a
subset) and the `tf_http_archive` / `http_archive` / `http_file` calls are evaluated as far as
plain data allows: string literals, module constants, `+`, `%`, `.format()`, and
`tf_mirror_urls(url)` (taken as its original URL; the mirror order is applied when fetching).
Calls that cannot be evaluated are reported, not guessed. For a CUDA profile without local
installs, the NVIDIA redistributions the hermetic rules will fetch are listed from
`cuda_redist_versions.bzl` and NVIDIA's redistrib JSON.
"""

from __future__ import annotations

import ast
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

ARCHIVE_RULES = {"tf_http_archive", "http_archive", "_tf_http_archive", "http_file",
                 "tf_vendored_http_archive"}
REDIST_FILE = "third_party/xla/third_party/tsl/third_party/gpus/cuda/hermetic/cuda_redist_versions.bzl"
SKIP_DIRS = {".git", "node_modules"}


TREE_SCAN = "tree scan"  # read from the tree's Starlark (a guess Bazel's record corrects)
BAZEL_RECORD = "Bazel's record"  # Bazel fetched it (downloads.resolved)
NVIDIA_INDEX = "NVIDIA"  # NVIDIA's redistrib JSON, or the NCCL wheel list beside it


@dataclass(frozen=True)
class Archive:
    name: str
    sha256: str
    urls: tuple[str, ...]
    origin: str  # file:line, or what it was derived from
    source: str = TREE_SCAN  # who listed it: TREE_SCAN, BAZEL_RECORD or NVIDIA_INDEX

    @property
    def basename(self) -> str:
        return self.urls[0].rsplit("/", 1)[-1].split("?")[0]


@dataclass
class Declared:
    archives: list[Archive] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # calls that could not be evaluated


class Unknown(Exception):
    pass


class Evaluator:
    """Evaluates the plain-data part of Starlark expressions."""

    def __init__(self, constants: Mapping[str, object] | None = None) -> None:
        self.constants = dict(constants or {})

    def eval(self, node: ast.AST) -> object:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, (ast.List, ast.Tuple)):
            return [self.eval(e) for e in node.elts]
        if isinstance(node, ast.Dict):
            return {self.eval(k): self.eval(v) for k, v in zip(node.keys, node.values)}
        if isinstance(node, ast.Name):
            if node.id in self.constants:
                return self.constants[node.id]
            raise Unknown(node.id)
        if isinstance(node, ast.BinOp):
            left, right = self.eval(node.left), self.eval(node.right)
            if isinstance(node.op, ast.Add):
                return left + right  # type: ignore[operator]
            if isinstance(node.op, ast.Mod) and isinstance(left, str):
                return left % (tuple(right) if isinstance(right, list) else right)
            raise Unknown(ast.dump(node.op))
        if isinstance(node, ast.Subscript):
            return self.eval(node.value)[self.eval(node.slice)]  # type: ignore[index]
        if isinstance(node, ast.Call):
            return self._call(node)
        raise Unknown(type(node).__name__)

    def _call(self, node: ast.Call) -> object:
        if isinstance(node.func, ast.Attribute) and node.func.attr == "format":
            template = self.eval(node.func.value)
            args = [self.eval(a) for a in node.args]
            kwargs = {k.arg: self.eval(k.value) for k in node.keywords if k.arg}
            if isinstance(template, str):
                return template.format(*args, **kwargs)
        if isinstance(node.func, ast.Name) and node.func.id == "tf_mirror_urls" and node.args:
            return [self.eval(node.args[0])]
        raise Unknown("call")


def _module_constants(tree: ast.Module) -> dict[str, object]:
    evaluator = Evaluator()
    for stmt in tree.body:
        if (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], ast.Name)):
            try:
                evaluator.constants[stmt.targets[0].id] = evaluator.eval(stmt.value)
            except (Unknown, TypeError, KeyError, ValueError, IndexError):
                continue
    return evaluator.constants


def parse_text(text: str, origin: str) -> Declared:
    declared = Declared()
    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        declared.skipped.append(f"{origin}: not parsable ({exc.msg})")
        return declared
    evaluator = Evaluator(_module_constants(tree))
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in ARCHIVE_RULES):
            continue
        where = f"{origin}:{node.lineno}"
        kwargs = {k.arg: k.value for k in node.keywords if k.arg}
        if not isinstance(kwargs.get("name"), ast.Constant):
            continue  # a wrapper forwarding its own parameters (tf_http_archive's body)
        try:
            name = evaluator.eval(kwargs["name"]) if "name" in kwargs else "?"
            sha256 = evaluator.eval(kwargs["sha256"]) if "sha256" in kwargs else ""
            if "urls" in kwargs:
                urls = evaluator.eval(kwargs["urls"])
            elif "url" in kwargs:
                urls = [evaluator.eval(kwargs["url"])]
            else:
                raise Unknown("no urls")
        except (Unknown, TypeError, KeyError, ValueError, IndexError):
            declared.skipped.append(f"{where}: {node.func.id}(...) is not plain data")
            continue
        if not sha256 or not isinstance(sha256, str) or len(sha256) != 64:
            declared.skipped.append(f"{where}: {name} has no sha256 (cannot be verified)")
            continue
        if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls) or not urls:
            declared.skipped.append(f"{where}: {name}: urls are not plain strings")
            continue
        declared.archives.append(Archive(str(name), sha256, tuple(urls), where))
    return declared


def is_bazel_output(directory: Path) -> bool:
    """A directory Bazel (or tfbuild for it) writes, never part of the source: an output base
    (Bazel writes DO_NOT_BUILD_HERE into it), an output user root (`install/` beside output
    bases or `cache/repos`), a repository cache (`content_addressable/`) or a disk cache
    (`ac/` and `cas/`). The notes keep their output root inside the TF tree."""
    try:
        if (directory / "DO_NOT_BUILD_HERE").exists() or (directory / "content_addressable").is_dir():
            return True
        if (directory / "ac").is_dir() and (directory / "cas").is_dir():
            return True
        if (directory / "install").is_dir():
            return (directory / "cache" / "repos").is_dir() or any(
                (child / "DO_NOT_BUILD_HERE").exists() for child in directory.iterdir())
    except OSError:
        return False
    return False


def workspace_files(source: Path, skip: Iterable[Path] = ()) -> Iterable[Path]:
    """WORKSPACE and every .bzl file of the tree, leaving out `bazel-*` links, Bazel's outputs
    and caches (found by their shape, or named in `skip`: the profile's output root, caches,
    dist directory)."""
    skipped = {os.path.abspath(p) for p in skip}
    for name in ("WORKSPACE", "WORKSPACE.bazel"):
        if (source / name).is_file():
            yield source / name
    for root, dirs, files in os.walk(source):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("bazel-")
                         and os.path.join(root, d) not in skipped
                         and not is_bazel_output(Path(root, d)))
        for file in sorted(files):
            if file.endswith(".bzl"):
                yield Path(root) / file


def declared_archives(source: Path, skip: Iterable[Path] = ()) -> Declared:
    result = Declared()
    seen: set[str] = set()
    for path in workspace_files(source, skip):
        text = path.read_text(errors="replace")
        if not any(rule + "(" in text for rule in ARCHIVE_RULES):
            continue
        found = parse_text(text, str(path.relative_to(source)))
        result.skipped += found.skipped
        for archive in found.archives:
            if archive.sha256 not in seen:
                seen.add(archive.sha256)
                result.archives.append(archive)
    return result


# -- NVIDIA redistributions ----------------------------------------------------------------------
@dataclass(frozen=True)
class RedistIndex:
    """What cuda_redist_versions.bzl says about one profile: the redistrib JSON files to fetch
    and the URL prefixes their relative paths hang from."""

    json_archives: tuple[tuple[Archive, str, str], ...]  # (archive, prefix, kind)
    components: tuple[str, ...]
    nccl: Archive | None


def redist_index(source: Path, *, cuda_version: str, cudnn_version: str,
                 local_cuda: bool, local_cudnn: bool, local_nccl: bool) -> RedistIndex | None:
    path = source / REDIST_FILE
    if not path.is_file():
        return None
    constants = _module_constants(ast.parse(path.read_text()))
    jsons = []
    if not local_cuda and cuda_version in constants.get("CUDA_REDIST_JSON_DICT", {}):
        url, sha = constants["CUDA_REDIST_JSON_DICT"][cuda_version]
        jsons.append((Archive(f"cuda_redist_json_{cuda_version}", sha, (url,), REDIST_FILE,
                              NVIDIA_INDEX),
                      str(constants.get("CUDA_REDIST_PATH_PREFIX", "")), "cuda"))
    if not local_cudnn and cudnn_version in constants.get("CUDNN_REDIST_JSON_DICT", {}):
        url, sha = constants["CUDNN_REDIST_JSON_DICT"][cudnn_version]
        jsons.append((Archive(f"cudnn_redist_json_{cudnn_version}", sha, (url,), REDIST_FILE,
                              NVIDIA_INDEX),
                      str(constants.get("CUDNN_REDIST_PATH_PREFIX", "")), "cudnn"))
    templates = constants.get("REDIST_VERSIONS_TO_BUILD_TEMPLATES", {})
    components = tuple(k for k in templates if k not in ("cuda_nccl",))
    nccl = None
    wheels = constants.get("CUDA_NCCL_WHEELS", {})
    if not local_nccl and cuda_version in wheels:
        entry = wheels[cuda_version].get("x86_64-unknown-linux-gnu")
        if entry:
            nccl = Archive("cuda_nccl", entry["sha256"], (entry["url"],), REDIST_FILE,
                           NVIDIA_INDEX)
    return RedistIndex(tuple(jsons), components, nccl)


def redist_components(document: str, prefix: str, kind: str, components: Iterable[str],
                      cuda_major: str, origin: str) -> list[Archive]:
    """The linux-x86_64 archives a redistrib JSON lists for the components TF uses."""
    data = json.loads(document)
    wanted = {"cudnn"} if kind == "cudnn" else set(components) - {"cudnn"}
    out = []
    for component in sorted(wanted):
        entry = data.get(component, {}).get("linux-x86_64")
        if not entry:
            continue
        if "relative_path" not in entry:  # cuDNN: one archive per CUDA major
            entry = entry.get(f"cuda{cuda_major}", {})
        path = entry.get("relative_path") or entry.get("full_path")
        if path and entry.get("sha256"):
            url = path if path.startswith(("http://", "https://")) else prefix + path
            out.append(Archive(component, entry["sha256"], (url,), origin, NVIDIA_INDEX))
    return out
