"""The README's profile-key table, generated from the settings model and the packaged defaults.

    python -m tfbuild.settings.docs          # print the table
    python -m tfbuild.settings.docs --write  # refresh it in README.md between the markers
"""

from __future__ import annotations

import sys
import tomllib

from tfbuild.settings.model import key_specs, type_name
from tfbuild.settings.report import format_value
from tfbuild import resources
from tfbuild.settings.resolve import DEFAULTS_FILE, ENV_PREFIX

START, END = "<!-- profile-keys:start -->", "<!-- profile-keys:end -->"


def table() -> str:
    defaults = tomllib.loads(DEFAULTS_FILE.read_text())
    lines = ["| key | type | default | environment | meaning |", "|---|---|---|---|---|"]
    for dotted, spec in key_specs().items():
        default = format_value(defaults[spec.section][spec.key]).replace("|", "\\|")
        env = ENV_PREFIX + dotted.replace(".", "_").upper()
        lines.append(f"| `{dotted}` | {type_name(spec.type).replace('|', 'or')} | `{default}` "
                     f"| `{env}` | {spec.doc.replace('|', 'or')} |")
    return "\n".join(lines)


def refreshed(readme: str) -> str:
    head, _, rest = readme.partition(START)
    _, _, tail = rest.partition(END)
    return f"{head}{START}\n{table()}\n{END}{tail}"


if __name__ == "__main__":
    if "--write" in sys.argv:
        root = resources.checkout_root()
        if root is None:
            sys.exit("--write refreshes the checkout's README.md; run it from a tfbuild checkout")
        path = root / "README.md"
        path.write_text(refreshed(path.read_text()))
    else:
        print(table())
