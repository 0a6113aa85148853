"""The files tfbuild ships beside its code, found through importlib.resources.

The repository keeps them at its root, where a reader looks for them (templates/, patches/,
profiles/, docker/); this package holds one symlink to each (`templates -> ../../templates`),
which setuptools follows when it builds a wheel, so an installed tfbuild carries real copies
at the same names. In a checkout (editable install) the links lead back to the root.

tfbuild/data/ (defaults, pins, signatures) and tfbuild/smoke/resources/ live inside the package
itself and are found the same way.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

SHIPPED = ("templates", "patches", "profiles", "docker")


def package_dir() -> Path:
    """The directory of the imported tfbuild package (site-packages/tfbuild, or the checkout's
    tfbuild/): a real directory, since tfbuild is never imported from a zip."""
    return Path(str(resources.files("tfbuild")))


def path(name: str) -> Path:
    """One of the shipped directories (templates, patches, profiles, docker), symlinks resolved,
    so that a checkout shows `<checkout>/profiles/cpu.toml` and an install the installed copy."""
    if name not in SHIPPED:
        raise ValueError(f"no shipped directory {name!r}; known: {', '.join(SHIPPED)}")
    return Path(str(resources.files("tfbuild") / "resources" / name)).resolve()


def data_file(name: str) -> Path:
    """A file of tfbuild/data/ (defaults.toml, pins.toml, signatures.toml)."""
    return Path(str(resources.files("tfbuild") / "data" / name))


def checkout_root() -> Path | None:
    """The source checkout tfbuild is imported from (it has pyproject.toml beside the package),
    or None for an installed wheel. Only for things that need the whole checkout: mounting it
    into a container, and the docs generators that write into it."""
    root = package_dir().parent
    return root if (root / "pyproject.toml").is_file() and (root / "templates").is_dir() else None
