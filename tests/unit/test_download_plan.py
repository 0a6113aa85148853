"""Pure parts of downloads: URL order, reading declared archives from Starlark, NVIDIA JSON."""

import json

from tfbuild.downloads.archives import parse_text, redist_components
from tfbuild.downloads.urls import candidates, mirror_order

MIRROR = "https://mirror.example/tf"
NVIDIA = "https://developer.download.nvidia.com/compute/cuda/redist/x.tar.xz"


def test_url_order_matches_the_patched_tf_mirror_urls():
    hosts = ["developer.download.nvidia.com"]
    assert mirror_order(NVIDIA, MIRROR, hosts) == [NVIDIA]
    assert mirror_order("https://github.com/a/b.tgz", MIRROR, hosts) == [
        "https://mirror.example/tf/github.com/a/b.tgz", "https://github.com/a/b.tgz"]
    assert mirror_order("http://example.com/a.tgz", MIRROR, hosts) == ["http://example.com/a.tgz"]


def test_candidates_keep_declared_mirror_urls_and_dedupe():
    declared = ["https://mirror.example/tf/github.com/a/b.tgz", "https://github.com/a/b.tgz"]
    assert candidates(declared, MIRROR, []) == declared


STARLARK = '''
load("//third_party:repo.bzl", "tf_http_archive", "tf_mirror_urls")

VERSION = "1.2.3"
SHA = "a" * 64

def repo():
    tf_http_archive(
        name = "com_example_a",
        sha256 = "1111111111111111111111111111111111111111111111111111111111111111",
        strip_prefix = "a-" + VERSION,
        urls = tf_mirror_urls("https://github.com/example/a/archive/v{}.tar.gz".format(VERSION)),
    )
    http_archive(
        name = "b",
        sha256 = "2222222222222222222222222222222222222222222222222222222222222222",
        url = "https://example.com/b-%s.zip" % VERSION,
    )
    tf_http_archive(name = "c", sha256 = SOMETHING_LOADED, urls = ["https://x/c.tgz", "https://y/c.tgz"])
    http_archive(name = "d", urls = ["https://x/d.tgz"])
'''


def test_archives_are_read_as_plain_data():
    declared = parse_text(STARLARK, "third_party/a/workspace.bzl")
    by_name = {a.name: a for a in declared.archives}
    assert by_name["com_example_a"].urls == ("https://github.com/example/a/archive/v1.2.3.tar.gz",)
    assert by_name["com_example_a"].basename == "v1.2.3.tar.gz"
    assert by_name["com_example_a"].origin == "third_party/a/workspace.bzl:8"
    assert by_name["b"].urls == ("https://example.com/b-1.2.3.zip",)
    assert len(declared.skipped) == 2
    assert "is not plain data" in declared.skipped[0] and "has no sha256" in declared.skipped[1]


def test_redistrib_json_components():
    document = json.dumps({
        "release_label": "12.4.0",
        "cuda_cudart": {"linux-x86_64": {"relative_path": "cuda_cudart/linux-x86_64/cudart.tar.xz",
                                         "sha256": "3" * 64}},
        "cuda_nvcc": {"linux-sbsa": {"relative_path": "n", "sha256": "4" * 64}},
        "cudnn": {"linux-x86_64": {"cuda12": {"relative_path": "cudnn/c12.tar.xz", "sha256": "5" * 64}}},
    })
    cuda = redist_components(document, "https://nv/redist/", "cuda",
                             ["cuda_cudart", "cuda_nvcc", "cudnn"], "12", "json")
    assert [(a.name, a.urls[0]) for a in cuda] == [
        ("cuda_cudart", "https://nv/redist/cuda_cudart/linux-x86_64/cudart.tar.xz")]
    cudnn = redist_components(document, "https://nv/cudnn/", "cudnn", ["cudnn"], "12", "json")
    assert cudnn[0].urls == ("https://nv/cudnn/cudnn/c12.tar.xz",) and cudnn[0].sha256 == "5" * 64
    assert {a.source for a in cuda + cudnn} == {"NVIDIA"}  # prefetch's "listed by" column


def test_the_tree_scan_says_it_listed_what_it_read():
    declared = parse_text('tf_http_archive(name = "a", sha256 = "%s", urls = ["https://x/a.tgz"])'
                          % ("1" * 64), "workspace.bzl")
    assert [(a.name, a.source) for a in declared.archives] == [("a", "tree scan")]


def test_distdir_file_name_clashes():
    from tfbuild.downloads.archives import Archive
    from tfbuild.downloads.store import collisions

    a = Archive("a", "1" * 64, ("https://github.com/x/archive/v1.tar.gz",), "o")
    b = Archive("b", "2" * 64, ("https://github.com/y/archive/v1.tar.gz",), "o")
    c = Archive("c", "3" * 64, ("https://github.com/z/archive/v2.tar.gz",), "o")
    assert collisions([a, b, c]) == {"v1.tar.gz": [b]}


def test_bazel_outputs_and_configured_dirs_are_not_scanned(tmp_path):
    from tfbuild.downloads.archives import declared_archives

    decl = 'http_archive(name = "{n}", sha256 = "%s", urls = ["https://x.example/{n}.tgz"])\n' % ("a" * 64)
    (tmp_path / "WORKSPACE").write_text("")
    (tmp_path / "third_party").mkdir()
    (tmp_path / "third_party" / "deps.bzl").write_text(decl.format(n="tree_dep"))
    # the notes' output root inside the tree: install/ beside an output base
    base = tmp_path / "OutputUserRoot" / "458e09755a092c4c605421b63672f1ff"
    (base / "external" / "rules_x").mkdir(parents=True)
    (base / "DO_NOT_BUILD_HERE").write_text("")
    (base / "external" / "rules_x" / "deps.bzl").write_text(decl.format(n="in_output_base"))
    (tmp_path / "OutputUserRoot" / "install").mkdir()
    (tmp_path / "OutputUserRoot" / "install" / "x.bzl").write_text(decl.format(n="in_install"))
    # a repository cache and a disk cache inside the tree, and a configured dist dir
    (tmp_path / "repo-cache" / "content_addressable").mkdir(parents=True)
    (tmp_path / "repo-cache" / "y.bzl").write_text(decl.format(n="in_repo_cache"))
    for d in ("ac", "cas"):
        (tmp_path / "disk-cache" / d).mkdir(parents=True)
    (tmp_path / "disk-cache" / "z.bzl").write_text(decl.format(n="in_disk_cache"))
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "w.bzl").write_text(decl.format(n="in_dist"))
    names = [a.name for a in declared_archives(tmp_path, skip=[tmp_path / "dist"]).archives]
    assert names == ["tree_dep"]


def test_failed_archives_after_bazel_fetched_the_targets():
    from tfbuild.downloads.archives import Archive
    from tfbuild.downloads.prefetch import (BY_BAZEL, FAILED, FETCHED, NOT_NEEDED, Outcome,
                                            TargetsFetch, classify)

    a, b, c = (Archive(n, n * 64, (f"https://x.example/{n}.tgz",), "t") for n in "abc")
    outcomes = [Outcome(a, FETCHED, 1), Outcome(b, FAILED, 0, "HTTP 404"),
                Outcome(c, FAILED, 0, "HTTP 404")]
    in_cache = {b.sha256}  # Bazel fetched b itself (another URL); c is nowhere
    ok = TargetsFetch(True, ("//t",))
    got = classify(outcomes, ok, lambda x: x.sha256 in in_cache)
    assert [o.status for o in got] == [FETCHED, BY_BAZEL, NOT_NEEDED]
    assert got[2].detail == "the targets do not need it; HTTP 404"
    for targets in (TargetsFetch(False, ("//t",), "failed"), TargetsFetch(None, ("//t",))):
        assert classify(outcomes, targets, lambda x: True) == outcomes  # nothing excused
