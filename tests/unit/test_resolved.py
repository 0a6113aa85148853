"""Bazel's own record of what it fetched (downloads.resolved), the distdir's manifest and the
offline check's sources (issue 20 item 1). The resolved file below is written here in the shape
Bazel 4.2.3's RepositoryResolvedModule prints (checked against a real run: 5-space indents, a
local repository without `repositories`, an http_archive with `url` and empty `urls`)."""

from __future__ import annotations

import json

import pytest

from tfbuild.downloads import resolved, store as store_mod
from tfbuild.downloads.archives import Archive
from tfbuild.downloads.prefetch import FETCHED, NOT_NEEDED, Outcome, from_bazel_record
from tfbuild.errors import ConfigError

pytestmark = pytest.mark.unit

A = "a" * 64
B = "b" * 64

RESOLVED = f'''resolved = [
     {{
          "original_rule_class": "local_repository",
          "original_attributes": {{
               "name": "platforms",
               "path": "/usr/share/bazel/platforms"
          }},
          "native": "local_repository(name = \\"platforms\\", path = __embedded_dir__)"
     }},
     {{
          "original_rule_class": "@bazel_tools//tools/build_defs/repo:http.bzl%http_archive",
          "original_attributes": {{
               "name": "llvm-raw",
               "generator_function": "llvm",
               "generator_location": None,
               "url": "https://example.org/llvm.tar.gz",
               "sha256": "{A.upper()}"
          }},
          "repositories": [
               {{
                    "rule_class": "@bazel_tools//tools/build_defs/repo:http.bzl%http_archive",
                    "attributes": {{
                         "url": "https://example.org/llvm.tar.gz",
                         "urls": [
                              "https://mirror.example/llvm.tar.gz",
                              "https://example.org/llvm.tar.gz"
                         ],
                         "sha256": "{A.upper()}",
                         "patch_args": [
                              "-p0"
                         ],
                         "auth_patterns": {{}},
                         "name": "llvm-raw"
                    }},
                    "output_tree_hash": "{B}"
               }}
          ]
     }},
     {{
          "original_rule_class": "//third_party:repo.bzl%_tf_http_archive",
          "repositories": [
               {{
                    "rule_class": "//third_party:repo.bzl%_tf_http_archive",
                    "attributes": {{"name": "absl", "urls": ["https://example.org/absl.zip"],
                                   "sha256": "{B}", "build_file": None}}
               }}
          ]
     }},
     {{
          "original_rule_class": "@rules_python//python/pip_install:pip_repository.bzl%whl_library",
          "repositories": [
               {{"rule_class": "whl_library", "attributes": {{"name": "pypi_numpy", "requirement": "numpy==2.0.2"}}}}
          ]
     }}
]'''


def test_parse_reads_every_repository_bazel_ran_and_the_archive_it_names():
    fetched = {f.repository: f for f in resolved.parse(RESOLVED)}
    assert set(fetched) == {"llvm-raw", "absl", "pypi_numpy"}  # platforms: no `repositories`
    llvm = fetched["llvm-raw"].archive()
    # `url` first, then `urls` without repeats: the order Bazel's http rules try them
    assert llvm.urls == ("https://example.org/llvm.tar.gz", "https://mirror.example/llvm.tar.gz")
    assert llvm.sha256 == A and llvm.name == "llvm-raw"
    assert llvm.origin == "Bazel fetched @llvm-raw (http_archive)"
    assert fetched["absl"].archive().basename == "absl.zip"
    assert fetched["pypi_numpy"].archive() is None  # pip's wheels: no URL, no sha256


@pytest.mark.parametrize("text", ["", "resolved = ", "x = []", "resolved = [1, 2",
                                  "resolved = __import__('os')", "resolved = {}",
                                  "resolved = [" * 2000])
def test_parse_refuses_what_is_not_bazels_literal(text):
    with pytest.raises(resolved.Unreadable):
        resolved.parse(text)


def test_parse_skips_entries_of_other_shapes():
    assert resolved.parse('resolved = [1, "x", {"repositories": [{"attributes": {}}]}, '
                          '{"repositories": [{"attributes": {"name": "n", "sha256": 3}}]}]') == [
        resolved.Fetched("n", "", (), "")]


def _external(output_base, *names):
    external = output_base / "external"
    external.mkdir(parents=True, exist_ok=True)
    for name in names:
        (external / f"@{name}.marker").write_text("")


def _run(state, output_base, text):
    resolved.begin(state, output_base)
    resolved.raw_file(state).write_text(text)
    return resolved.finish(state, output_base)


def test_the_record_merges_commands_and_is_complete_from_an_empty_output_base(tmp_path):
    state, base = tmp_path / "state", tmp_path / "ob"
    _external(base, "bazel_tools", "platforms")  # a `query` made these: nothing was downloaded
    assert _run(state, base, RESOLVED) == []
    _external(base, "llvm-raw", "absl", "pypi_numpy")
    assert _run(state, base, "resolved = []") == []  # a later build that fetched nothing new
    record = resolved.load(state, base)
    assert record.complete
    assert sorted(a.name for a in record.archives()) == ["absl", "llvm-raw"]
    assert not resolved.raw_file(state).exists()  # Bazel's file is consumed
    assert oct(resolved.raw_file(state).parent.stat().st_mode & 0o777) == "0o700"


def test_a_record_begun_on_a_used_output_base_says_it_is_incomplete(tmp_path):
    state, base = tmp_path / "state", tmp_path / "ob"
    _external(base, "eigen_archive")  # fetched before tfbuild kept its record
    assert _run(state, base, RESOLVED) == []
    assert not resolved.load(state, base).complete
    extra, notes = from_bazel_record(resolved.load(state, base), [])
    assert len(extra) == 2 and "before tfbuild kept its record" in notes[0]


def test_an_expunged_output_base_starts_a_new_complete_record(tmp_path):
    state, base = tmp_path / "state", tmp_path / "ob"
    _external(base, "eigen_archive")
    _run(state, base, RESOLVED)
    (base / "external" / "@eigen_archive.marker").unlink()  # `bazel clean --expunge`
    for marker in (base / "external").glob("@*.marker"):
        marker.unlink()
    assert _run(state, base, "resolved = []") == []
    record = resolved.load(state, base)
    assert record.complete and record.repositories == {}


def test_finish_reports_a_missing_or_unreadable_file_without_failing(tmp_path):
    state, base = tmp_path / "state", tmp_path / "ob"
    resolved.begin(state, base)
    assert "wrote no resolved-repositories file" in resolved.finish(state, base)[0]
    assert "not a literal list" in _run(state, base, "resolved = [")[0]


def test_the_record_is_kept_per_output_base_and_survives_a_corrupt_file(tmp_path):
    state = tmp_path / "state"
    _run(state, tmp_path / "one", RESOLVED)
    _run(state, tmp_path / "two", "resolved = []")
    assert len(resolved.load(state, tmp_path / "one").repositories) == 3
    assert resolved.load(state, tmp_path / "two").repositories == {}
    (state / resolved.RECORD).write_bytes(b"\xff\xfe not json")
    assert resolved.load(state, tmp_path / "one") is None


def test_bazel_record_adds_only_what_the_tree_scan_did_not_list():
    scanned = Archive("absl", B, ("https://example.org/absl.zip",), "workspace2.bzl:10")
    outcomes = [Outcome(scanned, FETCHED)]
    record = resolved.Record("/ob", True, {f.repository: f for f in resolved.parse(RESOLVED)})
    extra, notes = from_bazel_record(record, outcomes)
    assert [a.name for a in extra] == ["llvm-raw"] and notes == []
    assert from_bazel_record(None, outcomes)[0] == []


def test_distdir_manifest_round_trip_and_unreadable_ones(tmp_path):
    archive = Archive("llvm-raw", A, ("https://example.org/llvm.tar.gz",), "Bazel fetched @llvm-raw")
    store_mod.write_manifest(tmp_path, store_mod.DistdirManifest(("//t",), (archive,),
                                                                 frozenset({B})))
    back = store_mod.read_manifest(tmp_path)
    assert back.archives == (archive,) and back.not_needed == {B} and back.targets == ("//t",)
    assert json.loads((tmp_path / store_mod.MANIFEST).read_text())["archives"][0]["file"] == \
        "llvm.tar.gz"
    for bad in (b"\xff\xfe", b"{}", b'{"archives": [{"name": "x"}]}',
                b'{"archives": [{"name": "x", "sha256": "1", "urls": []}]}'):
        (tmp_path / store_mod.MANIFEST).write_bytes(bad)
        with pytest.raises(ConfigError, match="prefetch --distdir"):
            store_mod.read_manifest(tmp_path)
    assert store_mod.read_manifest(tmp_path / "nowhere") is None


def test_copy_verified_lands_only_a_matching_copy(tmp_path):
    import hashlib

    source = tmp_path / "file"
    source.write_bytes(b"archive")
    good = hashlib.sha256(b"archive").hexdigest()
    assert store_mod.copy_verified(source, tmp_path / "a.tgz", good) == 7
    assert store_mod.copy_verified(source, tmp_path / "b.tgz", A) is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.tgz", "file"]
    assert store_mod.verified(tmp_path / "a.tgz", good)
    assert not store_mod.verified(tmp_path / "a.tgz", A)
    assert not store_mod.verified(tmp_path, good)


def test_each_download_is_told_as_mirror_or_origin_with_its_archive():
    """Build events' fetch URLs joined with Bazel's record (repository, sha256) and the
    profile's mirrors: a host mirror, mirrors.tf_mirror, TF's own mirror and an origin."""
    from tfbuild.downloads.resolved import Fetched
    from tfbuild.downloads.served import downloads
    from tfbuild.settings import resolve

    settings = resolve("cpu", env={}, overrides=[
        "mirrors.tf_mirror=https://mirrors.example.cn/tf",
        'mirrors.host_mirrors={"files.pythonhosted.org" = "https://mirrors.example.cn/pypi"}',
    ]).settings
    record = {
        "llvm-raw": Fetched("llvm-raw", "_tf_http_archive", (
            "https://storage.googleapis.com/mirror.tensorflow.org/github.com/llvm/x.tar.gz",
            "https://github.com/llvm/x.tar.gz"), A),
        "numpy": Fetched("numpy", "http_file", (
            "https://files.pythonhosted.org/packages/ab/numpy.whl",), B),
        "absl": Fetched("absl", "http_archive", ("https://github.com/abseil/a.zip",), A),
    }
    rows = downloads([
        ("https://mirrors.example.cn/tf/github.com/llvm/x.tar.gz", True),
        ("https://mirrors.example.cn/pypi/packages/ab/numpy.whl", True),
        ("https://mirrors.example.cn/tf/github.com/abseil/a.zip", False),
        ("https://github.com/abseil/a.zip", True),
        ("https://storage.googleapis.com/mirror.tensorflow.org/github.com/llvm/x.tar.gz", True),
        ("https://unknown.example.org/z.tgz", True),
    ], record, settings)
    assert [(r["served_by"], r["success"], r["repository"], r["sha256"]) for r in rows] == [
        ("mirror", True, "llvm-raw", A), ("mirror", True, "numpy", B),
        ("mirror", False, "absl", A), ("origin", True, "absl", A),
        ("mirror", True, "llvm-raw", A), ("origin", True, None, None)]
