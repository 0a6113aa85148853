from pathlib import Path

from tfbuild.settings.docs import refreshed

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_readme_profile_key_table_is_current():
    readme = (PROJECT_ROOT / "README.md").read_text()
    assert readme == refreshed(readme), (
        "README's profile-key table is stale: run python -m tfbuild.settings.docs --write")
