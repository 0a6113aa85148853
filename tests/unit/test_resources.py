"""Where tfbuild finds its shipped files and the TensorFlow tree to work on."""

from pathlib import Path

import pytest

from tfbuild import paths, resources
from tfbuild.settings import resolve

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", resources.SHIPPED)
def test_shipped_directories_lead_to_the_checkout_root(name):
    assert resources.path(name) == ROOT / name
    assert any(resources.path(name).iterdir())


def test_unknown_shipped_directory_is_refused_by_name():
    with pytest.raises(ValueError, match="templatez"):
        resources.path("templatez")


def test_checkout_root_is_found_from_the_package():
    assert resources.checkout_root() == ROOT


def test_shipped_profile_is_shown_relative_to_the_profiles_parent():
    from tfbuild.settings.resolve import display_path

    assert resolve("cpu", env={}).path == ROOT / "profiles" / "cpu.toml"
    assert display_path(ROOT / "profiles" / "cpu.toml") == "profiles/cpu.toml"


def tf_tree(path: Path) -> Path:
    for marker in paths.TF_TREE_MARKERS:
        (path / marker).parent.mkdir(parents=True, exist_ok=True)
        (path / marker).write_text("")
    return path


def test_source_flag_wins_over_a_tf_tree_as_current_directory(tmp_path):
    settings = resolve("cpu", env={}).settings
    here = tf_tree(tmp_path / "here")
    choice = paths.choose_source(settings, tmp_path / "given", cwd=here)
    assert (choice.path, choice.reason) == (tmp_path / "given", "--source")


def test_current_directory_is_taken_when_it_is_a_tf_tree(tmp_path):
    settings = resolve("cpu", env={}).settings
    here = tf_tree(tmp_path / "here")
    choice = paths.choose_source(settings, None, cwd=here)
    assert choice.path == here and "current directory" in choice.reason


def test_profile_source_dir_is_taken_when_the_current_directory_is_no_tf_tree(tmp_path):
    settings = resolve("cpu", env={}, overrides=[f"tensorflow.source_dir={tmp_path / 'tf'}"]).settings
    (tmp_path / "here").mkdir()
    (tmp_path / "here" / "WORKSPACE").write_text("")  # one marker is not a tree
    choice = paths.choose_source(settings, None, cwd=tmp_path / "here")
    assert choice.path == tmp_path / "tf" and choice.reason.startswith("tensorflow.source_dir")
