"""tfbuild's import rules, read from the source (AST): no import circle between modules, no
import of another package's private name, no import from a higher layer than the importer's
own except the few named in docs/development.md. Pure: it takes {module name: source text}, so
the tests can plant each kind of violation in a small synthetic package.

Every `import`/`from … import` of a `tfbuild` module counts, at module level or inside a
function, except those under `if TYPE_CHECKING:` (they never run). `from pkg import name` is an
import of `pkg.name` when that is a module, else of `pkg`.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

# The layer order, bottom (0) to top, in one place. A module belongs to the first layer whose
# pattern matches its dotted name (without "tfbuild."); a new module must be placed here.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("base", (r"tfbuild", r"errors", r"secrets", r"files", r"resources", r"console", r"runner",
              r"archive_diff", r"execlog", r"execlog_diff", r"report_html",
              r"pathcheck", r"versions", r"sums", r"wheel_audit", r"pins", r"toml",
              r"capabilities", r"diskcache", r"downloads", r"downloads\.(archives|urls|fetch)",
              r"patching", r"doctor", r"configure", r"building", r"container", r"smoke", r"install",
              r"patching\.(literals|records|shim|spec|engine)",
              r"building\.(progress|fetchwatch|bazel_rc_files|lock|diagnose|account|account_files|"
              r"artifacts)", r"smoke\.checks", r"smoke\.resources\..*",
              r"discovery", r"discovery\.(bazelisk_cache|tlsnative)")),
    ("settings", (r"settings(\..*)?", r"paths", r"cachekeys", r"sizing", r"discovery\.facts")),
    ("discovery", (r"discovery(\..*)?", r"environment", r"wheel_check", r"container\.(engine|record)",
                   r"downloads\.(store|resolved|declared|downloader_config|offline|served)")),
    ("plan", (r"configure\.(plan|rcfile)", r"building\.(command|remote|plan)", r"doctor\.rows",
              r"doctor\.checks", r"doctor\.cache_key_check", r"doctor\.cuda_compat", r"container\.plan", r"patching\.fixes")),
    ("steps", (r"building\.(pipmirror|source|manifest|c_headers|bazel_run)", r"doctor\.report")),
    ("tasks", (r"building\.(task|reproducible|explain|report)", r"configure\.task", r"doctor\.task", r"container\.task",
               r"smoke\.task", r"install\.task",
               r"patching\.task", r"downloads\.(prefetch|bazelisk)", r"space", r"docgen")),
    ("command line", (r"cli", r"__main__")),
)


# The imports of tfbuild modules that sit inside functions on purpose, lazy for start-up time
# (importer -> imported: why). Any other import goes at the top of its module.
LAZY: dict[tuple[str, str], str] = {
    ("tfbuild.cli", "tfbuild.settings.validate"):
        "`invoke --list` and every task's flag parsing load no settings machinery",
    ("tfbuild.building.task", "tfbuild.building.remote"):
        "socket and ssl only when a remote cache or executor is configured (a no-op build)",
    ("tfbuild.building.plan", "tfbuild.building.remote"):
        "the TLS provider only for grpcs:// (a no-op build)",
    ("tfbuild.building.task", "tfbuild.container.task"):
        "the image's templates only for `build --in-docker`",
    ("tfbuild.discovery.discover", "tfbuild.discovery.network"):
        "requests only when doctor probes the network",
}


def function_level(modules: Mapping[str, str], package: str = "tfbuild") -> list[Edge]:
    """The imports of `package` modules made inside a function body."""
    out = []
    for importer, text in modules.items():
        for node in ast.walk(ast.parse(text)):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for statement in node.body:
                for inner in ast.walk(statement):
                    if isinstance(inner, ast.ImportFrom) and inner.module and inner.level == 0 \
                            and (inner.module == package
                                 or inner.module.startswith(package + ".")):
                        for alias in inner.names:
                            full = f"{inner.module}.{alias.name}"
                            out.append(Edge(importer, full if full in modules else inner.module,
                                            inner.lineno))
    return out


@dataclass(frozen=True)
class Edge:
    importer: str
    imported: str
    line: int
    names: tuple[str, ...] = ()  # the names a `from` import takes

    def __str__(self) -> str:
        return f"{self.importer}:{self.line} -> {self.imported}"


def modules_of(root: Path, package: str = "tfbuild") -> dict[str, str]:
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        if name.startswith(package):
            out[name] = path.read_text(encoding="utf-8")
    return out


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(n) for child in node.body for n in ast.walk(child)}
    return skipped


def edges(modules: Mapping[str, str], package: str = "tfbuild") -> list[Edge]:
    """Every import, and for an import of `a.b.c` the packages `a.b` and `a` too (Python runs
    their __init__ first), unless the importer is inside them."""
    def known(name: str) -> str:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name

    out = []
    for importer, text in modules.items():
        tree = ast.parse(text)
        skipped = _type_checking_nodes(tree)
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 \
                    and (node.module == package or node.module.startswith(package + ".")):
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    target = full if full in modules else known(node.module)
                    names = () if full in modules else (alias.name,)
                    if target and target != importer:
                        out.append(Edge(importer, target, node.lineno, names))
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name == package or alias.name.startswith(package + "."):
                        target = known(alias.name)
                        if target and target != importer:
                            out.append(Edge(importer, target, node.lineno))
    with_parents = []
    for e in out:
        with_parents.append(e)
        parent = e.imported.rpartition(".")[0]
        while parent and parent != package and parent in modules:
            if not (e.importer == parent or e.importer.startswith(parent + ".")):
                with_parents.append(Edge(e.importer, parent, e.line))
            parent = parent.rpartition(".")[0]
    return with_parents


def cycles(found: list[Edge]) -> list[list[str]]:
    """The import circles: strongly connected groups of more than one module (Tarjan)."""
    graph: dict[str, set[str]] = {}
    for e in found:
        graph.setdefault(e.importer, set()).add(e.imported)
        graph.setdefault(e.imported, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return groups


def _package_of(module: str, modules: Mapping[str, str]) -> str:
    """A package's own name for its __init__, else the module's parent."""
    if any(m.startswith(module + ".") for m in modules):
        return module
    return module.rpartition(".")[0]


def private_imports(found: list[Edge], modules: Mapping[str, str]) -> list[Edge]:
    """`from other.package import _name` (or of a `_module`), across packages."""
    out = []
    for e in found:
        private = [n for n in e.names if n.startswith("_") and not n.startswith("__")]
        if e.imported.rpartition(".")[2].startswith("_") and \
                not e.imported.rpartition(".")[2].startswith("__"):
            private.append(e.imported)
        if private and _package_of(e.importer, modules) != _package_of(e.imported, modules):
            out.append(e)
    return out


def layer_of(module: str, package: str = "tfbuild") -> int | None:
    short = module[len(package) + 1:] if module.startswith(package + ".") else module
    for number, (_, patterns) in enumerate(LAYERS):
        if any(re.fullmatch(p, short) for p in patterns):
            return number
    return None


def upward(found: list[Edge], package: str = "tfbuild") -> list[Edge]:
    return [e for e in found
            if (layer_of(e.importer, package) or 0) < (layer_of(e.imported, package) or 0)]
