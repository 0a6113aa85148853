"""The house rules of tfbuild's imports (issue 21), read from the source: no import circle,
no import of another package's private name, no import from a higher layer except those
docs/development.md names with the reason, and every module placed in a layer
(tests/helpers/imports.py holds the checker and the layer order). Each rule is shown to fail
on a violation planted in a small package."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers import imports as im

ROOT = Path(__file__).resolve().parents[2]
MODULES = im.modules_of(ROOT / "tfbuild")
EDGES = im.edges(MODULES)
DEVELOPMENT = (ROOT / "docs" / "development.md").read_text(encoding="utf-8")


def test_no_import_circle():
    assert im.cycles(EDGES) == []


def test_no_private_name_of_another_package():
    assert [str(e) for e in im.private_imports(EDGES, MODULES)] == []


def test_every_module_has_a_layer():
    assert [m for m in MODULES if im.layer_of(m) is None] == []


def test_imports_up_a_layer_are_few_and_each_is_explained():
    named = set(re.findall(r"`(tfbuild[\w.]*) -> (tfbuild[\w.]*)`", DEVELOPMENT))
    found = {(e.importer, e.imported) for e in im.upward(EDGES)}
    assert found <= named, f"explain these in docs/development.md: {sorted(found - named)}"
    assert len(found) <= 3


def test_imports_inside_functions_are_only_the_listed_lazy_ones():
    found = {(e.importer, e.imported) for e in im.function_level(MODULES)}
    assert found - set(im.LAZY) == set(), "move these to the top, or list them in LAZY with why"
    assert set(im.LAZY) - found == set(), "LAZY lists imports that are not there any more"
    for (importer, imported), why in im.LAZY.items():
        assert f"`{importer} -> {imported}`" in DEVELOPMENT, "name each lazy import in the docs"


def test_every_module_is_in_the_code_map():
    missing = [m for m in MODULES if f"`{m}`" not in DEVELOPMENT]
    assert missing == []


# -- each rule fails on a planted violation -------------------------------------------------------
PLANTED = {
    "tfbuild": "",
    "tfbuild.errors": "",
    "tfbuild.paths": "from tfbuild import errors\n",
    "tfbuild.building": "",
    "tfbuild.building.task": "from tfbuild import paths\n",
    "tfbuild.building.plan": "def _jobs():\n    return 1\n",
    "tfbuild.cli": "import tfbuild.building.task\n",
}


def planted(**changes: str) -> tuple[dict[str, str], list[im.Edge]]:
    modules = {**PLANTED, **changes}
    return modules, im.edges(modules)


def test_the_planted_package_breaks_no_rule():
    modules, edges = planted()
    assert im.cycles(edges) == [] and im.private_imports(edges, modules) == []
    assert im.upward(edges) == []


def test_a_planted_circle_is_found():
    _, edges = planted(**{"tfbuild.errors": "def f():\n    from tfbuild.paths import x\n"})
    assert im.cycles(edges) == [["tfbuild.errors", "tfbuild.paths"]]


def test_a_planted_private_import_is_found():
    modules, edges = planted(**{"tfbuild.cli": "from tfbuild.building.plan import _jobs\n"})
    assert [str(e) for e in im.private_imports(edges, modules)] == [
        "tfbuild.cli:1 -> tfbuild.building.plan"]


@pytest.mark.parametrize("text", ["from tfbuild.building import task\n",
                                  "def late():\n    import tfbuild.building.task\n"])
def test_a_planted_upward_import_is_found(text):
    _, edges = planted(**{"tfbuild.paths": text})
    assert [(e.importer, e.imported) for e in im.upward(edges)] == [
        ("tfbuild.paths", "tfbuild.building.task")]


def test_a_planted_import_inside_a_function_is_found():
    modules, _ = planted(**{"tfbuild.paths": "def late():\n    from tfbuild.errors import x\n"})
    assert [(e.importer, e.imported) for e in im.function_level(modules)] == [
        ("tfbuild.paths", "tfbuild.errors")]


def test_an_import_for_type_checking_only_does_not_count():
    _, edges = planted(**{"tfbuild.paths": "from typing import TYPE_CHECKING\n"
                                           "if TYPE_CHECKING:\n    from tfbuild.building import task\n"})
    assert im.upward(edges) == []


def test_toml_is_read_through_tfbuild_toml_so_python_310_works():
    """`tomllib` is 3.11's; on the notes' Python 3.10 only tfbuild.toml's fallback (tomli) is
    there."""
    direct = re.compile(r"^\s*(import tomllib|from tomllib import)", re.M)
    offenders = [m for m, text in MODULES.items() if m != "tfbuild.toml" and direct.search(text)]
    assert offenders == []
