"""The profile-key table of docs/profiles.md, generated from the settings model and the
packaged defaults.

    python -m tfbuild.settings.docs          # print the table
"""

from __future__ import annotations

from tfbuild import toml as tomllib
from tfbuild.settings.model import key_specs, type_name
from tfbuild.settings.report import format_value
from tfbuild.settings.resolve import DEFAULTS_FILE, ENV_PREFIX


def table() -> str:
    defaults = tomllib.loads(DEFAULTS_FILE.read_text())
    lines = ["| key | type | default | environment | meaning |", "|---|---|---|---|---|"]
    for dotted, spec in key_specs().items():
        default = format_value(defaults[spec.section][spec.key]).replace("|", "\\|")
        env = ENV_PREFIX + dotted.replace(".", "_").upper()
        lines.append(f"| `{dotted}` | {type_name(spec.type).replace('|', 'or')} | `{default}` "
                     f"| `{env}` | {spec.doc.replace('|', 'or')} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())
