"""Which members of two wheels or tarballs differ, and how (tfbuild/archive_diff.py)."""

from __future__ import annotations

import io
import tarfile
import zipfile

import pytest

from tfbuild import archive_diff

pytestmark = pytest.mark.unit


def wheel(path, entries):
    """entries: name -> (bytes, date_time, mode)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, (data, when, mode) in entries.items():
            info = zipfile.ZipInfo(name, date_time=when)
            info.external_attr = mode << 16
            archive.writestr(info, data)
    return path


T0, T1 = (2025, 3, 6, 0, 0, 0), (2026, 12, 6, 7, 25, 10)


def test_a_wheel_member_differs_by_time_mode_size_or_bytes(tmp_path):
    a = wheel(tmp_path / "a.whl", {"tf/__init__.py": (b"x", T0, 0o644),
                                   "tf/lib.so": (b"ELF1", T0, 0o755),
                                   "tf/build_time.txt": (b"07:25:10", T0, 0o644),
                                   "tf/gone.txt": (b"", T0, 0o644)})
    b = wheel(tmp_path / "b.whl", {"tf/__init__.py": (b"x", T1, 0o644),
                                   "tf/lib.so": (b"ELF1", T0, 0o644),
                                   "tf/build_time.txt": (b"07:25:12", T0, 0o644),
                                   "tf/new.txt": (b"longer", T0, 0o644)})
    diffs = {d.name: d for d in archive_diff.compare(a, b)}
    assert diffs["tf/__init__.py"].how == ("time",)
    assert diffs["tf/__init__.py"].text == ("tf/__init__.py: time 2025-03-06 00:00:00 vs "
                                            "2026-12-06 07:25:10")
    assert diffs["tf/lib.so"].text == "tf/lib.so: mode 755 vs 644"
    assert diffs["tf/build_time.txt"].text == "tf/build_time.txt: bytes differ"
    assert diffs["tf/gone.txt"].text == "tf/gone.txt: only in A"
    assert diffs["tf/new.txt"].text == "tf/new.txt: only in B"
    lines = archive_diff.summary(list(diffs.values()))
    assert lines[-1].startswith("tf/__init__.py: time")  # times last, contents first
    assert lines[0].endswith("only in A") or lines[0].endswith("only in B")


def test_equal_wheels_have_no_differing_members(tmp_path):
    entries = {"tf/a.py": (b"a", T0, 0o644)}
    assert archive_diff.compare(wheel(tmp_path / "a.whl", entries),
                                wheel(tmp_path / "b.whl", entries)) == []


def test_tarball_members_are_hashed(tmp_path):
    def tarball(path, data, mtime):
        with tarfile.open(path, "w:gz") as archive:
            info = tarfile.TarInfo("lib/libtensorflow.so.2")
            info.size, info.mtime, info.mode = len(data), mtime, 0o755
            archive.addfile(info, io.BytesIO(data))
        return path

    a = tarball(tmp_path / "a.tar.gz", b"same size!", 1741219200)
    b = tarball(tmp_path / "b.tar.gz", b"SAME SIZE!", 1741219200)
    (diff,) = archive_diff.compare(a, b)
    assert diff.how == ("bytes",)


def test_not_an_archive_is_said_so(tmp_path):
    broken = tmp_path / "x.whl"
    broken.write_bytes(b"not a zip")
    with pytest.raises(archive_diff.NotAnArchive, match="x.whl cannot be read as a zip"):
        archive_diff.compare(broken, broken)
    assert not archive_diff.is_archive(tmp_path / "libtensorflow.so.2.18.1")


def test_manifest_diff_names_the_differing_members_of_a_wheel(tmp_path):
    """Issue 29 item 4: `manifest --diff` of two dist directories names the members."""
    from tfbuild.building.manifest import differing_members

    a_dir, b_dir = tmp_path / "a", tmp_path / "b"
    a_dir.mkdir()
    b_dir.mkdir()
    wheel(a_dir / "t.whl", {"tf/build_time.txt": (b"1", T0, 0o644)})
    wheel(b_dir / "t.whl", {"tf/build_time.txt": (b"2", T0, 0o644)})
    a = {"artifacts": [{"name": "t.whl", "sha256": "aa"}, {"name": "lib.so", "sha256": "x"}]}
    b = {"artifacts": [{"name": "t.whl", "sha256": "bb"}, {"name": "lib.so", "sha256": "y"}]}
    assert differing_members(a_dir, b_dir, a, b) == [
        "  t.whl: 1 member(s) differ", "    tf/build_time.txt: bytes differ"]
    assert "directories" in differing_members(a_dir / "m.json", b_dir, a, b)[0]


def test_published_sums_are_compared_name_by_name():
    from tfbuild.building.reproducible import compare_sums

    ours = {"w.whl": "a" * 64, "lib.so": "b" * 64}
    theirs = {"w.whl": "c" * 64, "extra.txt": "d" * 64}
    assert [n for n, _ in compare_sums(ours, theirs)] == ["extra.txt", "lib.so", "w.whl"]
    assert dict(compare_sums(ours, theirs))["lib.so"] == "only in ours"
    assert compare_sums(ours, dict(ours)) == []
