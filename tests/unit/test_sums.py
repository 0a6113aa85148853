"""SHA256SUMS checked before an artifact of dist/<profile>/ is used."""

from __future__ import annotations

import hashlib
import json

import pytest

from tfbuild import sums
from tfbuild.building import manifest
from tfbuild.errors import PreconditionError

WHEEL = "tensorflow-2.18.1-cp311-cp311-linux_x86_64.whl"


def dist(tmp_path, data=b"wheel bytes"):
    d = tmp_path / "dist" / "cpu"
    d.mkdir(parents=True)
    (d / WHEEL).write_bytes(data)
    (d / "SHA256SUMS").write_text(f"{hashlib.sha256(data).hexdigest()}  {WHEEL}\n")
    (d / "manifest.json").write_text(json.dumps({"artifacts": []}))
    return d


def test_an_unchanged_artifact_passes(tmp_path):
    d = dist(tmp_path)
    sums.verify(d, [WHEEL])
    assert sums.verify_if_listed(d / WHEEL)


def test_a_changed_artifact_is_refused_naming_the_file_and_both_hashes(tmp_path):
    d = dist(tmp_path)
    (d / WHEEL).write_bytes(b"tampered")
    with pytest.raises(PreconditionError) as info:
        sums.verify(d, [WHEEL])
    message = info.value.message
    assert str(d / WHEEL) in message
    assert hashlib.sha256(b"wheel bytes").hexdigest() in message
    assert hashlib.sha256(b"tampered").hexdigest() in message


@pytest.mark.parametrize("damage, fragment", [
    (lambda d: (d / "SHA256SUMS").unlink(), "SHA256SUMS does not exist"),
    (lambda d: (d / "SHA256SUMS").write_text("garbage\n"), "not a `<sha256>  <file name>` line"),
    (lambda d: (d / "SHA256SUMS").write_bytes(b"\xff\xfe\n"), "cannot read"),
    (lambda d: (d / "SHA256SUMS").write_text(""), "is not listed in"),
    (lambda d: (d / WHEEL).unlink(), "does not exist"),
])
def test_damaged_sums_are_refused(tmp_path, damage, fragment):
    d = dist(tmp_path)
    damage(d)
    with pytest.raises(PreconditionError) as info:
        sums.verify(d, [WHEEL])
    assert fragment in info.value.message


def test_manifest_diff_of_a_directory_checks_its_artifacts_first(tmp_path):
    d = dist(tmp_path)
    assert manifest.load(d) == {"artifacts": []}
    (d / WHEEL).write_bytes(b"changed")
    with pytest.raises(PreconditionError, match="does not match"):
        manifest.load(d)


def test_a_wheel_given_by_hand_without_sums_is_not_checked(tmp_path):
    (tmp_path / WHEEL).write_bytes(b"x")
    assert sums.verify_if_listed(tmp_path / WHEEL) is False


@pytest.mark.parametrize("name,ok", [("include/tensorflow/c/c_api.h", True),
                                     ("../outside", False), ("/etc/passwd", False),
                                     ("include//x.h", False), ("a/./b", False)])
def test_listed_files_may_sit_below_the_directory_never_outside(tmp_path, name, ok):
    """dist/<profile>/include/... is listed by relative path; nothing may point out of it."""
    from tfbuild.errors import PreconditionError
    from tfbuild.sums import read

    (tmp_path / "SHA256SUMS").write_text(f"{'a' * 64}  {name}\n")
    if ok:
        assert read(tmp_path) == {name: "a" * 64}
    else:
        with pytest.raises(PreconditionError, match="not a"):
            read(tmp_path)
