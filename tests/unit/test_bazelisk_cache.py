"""bazelisk's cache layout as tfbuild writes and reads it (the layout was read off the real
bazelisk 1.25.0, run against a loopback server; see tfbuild/discovery/bazelisk_cache.py)."""

import hashlib

from tfbuild import pins
from tfbuild.discovery import bazelisk_cache as bc


def test_source_names_as_bazelisk_derives_them():
    assert bc.source_name(None) == "bazelbuild"
    assert bc.source_name("http://127.0.0.1:18765") == "http---127-0-0-1-18765"
    assert bc.source_name("http://127.0.0.1:18765/m_x/github.com/bazelbuild/bazel/releases/download") \
        == "http---127-0-0-1-18765-m-x-github-com-bazelbuild-bazel-releases-download"


def test_release_base_is_what_bazelisk_base_url_needs():
    pin = pins.bazel_release("6.5.0", "linux-x86_64")
    assert pin.url == ("https://github.com/bazelbuild/bazel/releases/download/6.5.0/"
                       "bazel-6.5.0-linux-x86_64")
    assert bc.release_base(pin.url, "6.5.0") == "https://github.com/bazelbuild/bazel/releases/download"
    mirrored = "https://m.example/mirror/github.com/bazelbuild/bazel/releases/download/6.5.0/x"
    assert bc.release_base(mirrored, "6.5.0") == \
        "https://m.example/mirror/github.com/bazelbuild/bazel/releases/download"
    assert pins.bazel_release("7.0.0", "linux-x86_64").sha256 is None  # not pinned: --bazel-sha256


def test_cached_follows_metadata_to_the_binary(tmp_path):
    env = {"BAZELISK_HOME": str(tmp_path)}
    assert bc.cached("6.5.0", env, "linux-x86_64") is None
    sha = hashlib.sha256(b"x").hexdigest()
    binary = bc.binary_path(tmp_path, sha)
    binary.parent.mkdir(parents=True)
    binary.write_bytes(b"x")
    binary.chmod(0o755)
    meta = bc.metadata_path(tmp_path, "bazelbuild", "6.5.0", "linux-x86_64")
    meta.parent.mkdir(parents=True)
    meta.write_text(sha)
    assert bc.cached("6.5.0", env, "linux-x86_64") == binary
    # another download location is another metadata directory
    assert bc.cached("6.5.0", {**env, "BAZELISK_BASE_URL": "https://m.example"}, "linux-x86_64") is None
    assert bc.home({"XDG_CACHE_HOME": "/c", "HOME": "/h"}) == bc.Path("/c/bazelisk")
    assert bc.home({"HOME": "/h"}) == bc.Path("/h/.cache/bazelisk")


def test_wanted_version(tmp_path):
    (tmp_path / ".bazelversion").write_text("6.5.0\n")
    assert bc.wanted_version(tmp_path, {}) == "6.5.0"
    assert bc.wanted_version(tmp_path, {"USE_BAZEL_VERSION": "7.4.1"}) == "7.4.1"
    assert bc.wanted_version(tmp_path, {"USE_BAZEL_VERSION": "latest"}) is None
    assert bc.wanted_version(None, {}) is None
    assert bc.is_bazelisk("/x/bazelisk-linux_amd64")
    as_bazel = tmp_path / "bazel"  # bazelisk installed as `bazel`: known by its Go module path
    as_bazel.write_bytes(b"\x7fELF...github.com/bazelbuild/bazelisk/core...")
    assert bc.is_bazelisk(str(as_bazel))
    as_bazel.write_bytes(b"\x7fELF... a Bazel launcher ...")
    assert not bc.is_bazelisk(str(as_bazel))
