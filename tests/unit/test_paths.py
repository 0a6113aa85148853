import hashlib

from tfbuild import paths
from tfbuild.settings import resolve


def _settings(root, startup=()):
    overrides = [f"build.output_user_root={root}"]
    if startup:
        overrides.append("build.startup_options=" + ",".join(startup))
    return resolve("cpu", env={}, overrides=overrides).settings


def test_output_base_hashes_the_physical_path_of_tree_and_root(tmp_path):
    """Bazel's client hashes getcwd() (no symlinks) and resolves the output root; the shapes
    were read from `bazel info output_base` of Bazel 4.2.3 (the integration test checks it)."""
    real = tmp_path / "media" / "github" / "tensorflow"
    real.mkdir(parents=True)
    (tmp_path / "tf").symlink_to(real)
    (tmp_path / "realroot").mkdir()
    (tmp_path / "root").symlink_to(tmp_path / "realroot")
    base = paths.output_base(_settings(tmp_path / "root"), tmp_path / "tf")
    assert base == tmp_path / "realroot" / hashlib.md5(str(real).encode()).hexdigest()


def test_output_base_startup_option_wins(tmp_path):
    settings = _settings(tmp_path, startup=(f"--output_base={tmp_path}/ob",))
    assert paths.output_base(settings, tmp_path) == tmp_path / "ob"


def test_state_dir_is_one_per_physical_tree(tmp_path, monkeypatch):
    monkeypatch.setenv("TFBUILD_STATE_DIR", str(tmp_path / "state"))
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert paths.state_dir(tmp_path / "link") == paths.state_dir(tmp_path / "real")
