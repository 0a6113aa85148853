"""Only Bazel's exact disk-cache layout is ever pruned (issue 19): decoy trees shaped like a
home or a source tree with `ac/` and `cas/` folders, symlinks into and out of a real cache, and
the places a cache may never be. Every test checks that not one byte of the decoy is deleted."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from tfbuild import diskcache
from tfbuild.diskcache import NotADiskCache

S = 10**9


def entry(root: Path, store: str, data: bytes, old: bool = True) -> Path:
    digest = hashlib.sha256(data).hexdigest()
    path = root / store / digest[:2] / digest
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if old:
        os.utime(path, ns=(S, S))
    return path


def real_cache(root: Path) -> list[Path]:
    return [entry(root, "ac", b"result-%d" % i) for i in range(3)] + \
        [entry(root, "cas", b"blob-%d" % i) for i in range(3)]


def tree_bytes(root: Path) -> dict[str, bytes | str]:
    out: dict[str, bytes | str] = {}
    for path in sorted(root.rglob("*")):
        if path.is_symlink():
            out[str(path)] = "-> " + os.readlink(path)
        elif path.is_file():
            out[str(path)] = path.read_bytes()
    return out


def old_file(path: Path, text: str = "mine") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.utime(path, ns=(S, S))  # 30 years old: first in line for an LRU prune
    return path


def prune_refused(root: Path, **kwargs) -> NotADiskCache:
    with pytest.raises(NotADiskCache) as info:
        diskcache.prune(root, 0, grace_s=0, **kwargs)
    assert "nothing was deleted" in info.value.message
    assert "build.disk_cache" in info.value.message
    return info.value


def test_a_home_with_ac_and_cas_folders_is_not_a_cache(tmp_path):
    home = tmp_path / "home"
    old_file(home / "thesis" / "cas" / "ch1" / "draft.tex")
    old_file(home / "docs" / "ac" / "x" / "notes.txt")
    before = tree_bytes(home)
    error = prune_refused(home)
    assert "is not part of Bazel's layout" in error.message
    assert tree_bytes(home) == before


def test_a_home_reached_through_a_symlink_is_refused(tmp_path):
    home = tmp_path / "home"
    old_file(home / "projects" / "cas" / "ab" / ("ab" * 32))
    (tmp_path / "cache").symlink_to(home)
    before = tree_bytes(home)
    prune_refused(tmp_path / "cache")
    assert tree_bytes(home) == before


def test_a_cas_symlink_out_of_a_real_cache_is_refused(tmp_path):
    cache, elsewhere = tmp_path / "cache", tmp_path / "elsewhere"
    entry(cache, "ac", b"r")
    theirs = entry(elsewhere, "cas", b"someone else's blob")
    (cache / "cas").symlink_to(elsewhere / "cas")
    error = prune_refused(cache)
    assert "is a symlink" in error.message
    assert theirs.exists()


@pytest.mark.parametrize("shape", ["shard-symlink", "entry-symlink", "wrong-name",
                                   "wrong-shard", "subdir-in-shard", "stray-top-file",
                                   "ac-is-a-file", "short-digest"])
def test_anything_outside_the_layout_refuses_the_whole_cache(tmp_path, shape):
    cache, outside = tmp_path / "cache", tmp_path / "outside"
    kept = real_cache(cache)
    victim = old_file(outside / "victim.txt")
    if shape == "shard-symlink":
        (cache / "cas" / "ff").symlink_to(outside)
    elif shape == "entry-symlink":
        (cache / "cas" / kept[3].parent.name / ("ee" * 32)).symlink_to(victim)
    elif shape == "wrong-name":
        old_file(cache / "cas" / kept[3].parent.name / "notes.txt")
    elif shape == "wrong-shard":  # a digest in the shard of other digits
        old_file(cache / "cas" / "00" / ("ff" * 32))
    elif shape == "subdir-in-shard":
        old_file(cache / "ac" / kept[0].parent.name / "sub" / ("aa" * 32))
    elif shape == "stray-top-file":
        old_file(cache / "README.txt")
    elif shape == "ac-is-a-file":
        other = tmp_path / "c2"
        entry(other, "cas", b"x")
        old_file(other / "ac")
        cache = other
        kept = [p for p in cache.rglob("*") if p.is_file()]
    elif shape == "short-digest":
        old_file(cache / "cas" / "ab" / "ab12")
    before = tree_bytes(tmp_path)
    error = prune_refused(cache)
    assert str(cache) in error.message
    assert tree_bytes(tmp_path) == before
    assert all(p.exists() for p in kept) and victim.exists()


def test_bazels_own_temporary_files_and_dirs_are_accepted_and_kept(tmp_path):
    cache = tmp_path / "cache"
    kept = real_cache(cache)
    temps = [old_file(cache / "cas" / "0f3c2a4e-1b2c-4d5e-8f90-0123456789ab"),
             old_file(cache / "6a4b3c2d-1e0f-4a5b-9c8d-7e6f5a4b3c2d"),
             old_file(cache / "tmp" / "anything"), old_file(cache / "gc" / "lock")]
    result = diskcache.prune(cache, 0, grace_s=0)
    assert result.removed == len(kept)
    assert all(t.exists() for t in temps)


def test_a_digest_function_directory_holds_the_same_layout(tmp_path):
    cache = tmp_path / "cache"
    path = entry(cache / "sha256", "cas", b"blob")
    assert [e.path for e in diskcache.scan(cache)] == [str(path)]
    old_file(cache / "sha256" / "notes" / "x")
    prune_refused(cache)


@pytest.mark.parametrize("where", ["root", "home", "source", "inside-source", "parent-of-state",
                                   "dist"])
def test_places_a_cache_may_never_be(tmp_path, monkeypatch, where):
    home, source, state, dist = (tmp_path / n for n in ("home", "tf", "state", "dist"))
    for d in (home, source / "cache", state / "tree-1", dist):
        d.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    protected = [("the source tree", source), ("the state directory", state / "tree-1"),
                 ("the dist directory", dist)]
    root = {"root": Path("/"), "home": home, "source": source,
            "inside-source": source / "cache", "parent-of-state": state, "dist": dist}[where]
    with pytest.raises(NotADiskCache) as info:
        diskcache.check_root(root, protected)
    assert "never prunes there" in info.value.message


def test_the_filesystem_root_is_refused_before_any_walk(monkeypatch):
    walked = []
    monkeypatch.setattr(diskcache.os, "scandir", lambda *a: walked.append(a) or iter(()))
    with pytest.raises(NotADiskCache):
        diskcache.prune(Path("/"), 0, dry_run=True)
    assert walked == []


def test_an_entry_swapped_for_a_symlink_after_planning_is_not_followed(tmp_path):
    cache, outside = tmp_path / "cache", tmp_path / "outside"
    (path,) = [entry(cache, "cas", b"blob")]
    victim = old_file(outside / "victim.txt")
    plan = diskcache.plan_prune(diskcache.scan(cache), 0, protect_after_ns=10 * S)
    path.unlink()
    path.symlink_to(victim)  # swapped between planning and removal
    result = diskcache.execute(plan, cache)
    assert result.removed == 0 and victim.exists() and path.is_symlink()


def test_a_shard_swapped_for_a_symlink_after_planning_is_not_followed(tmp_path):
    cache, outside = tmp_path / "cache", tmp_path / "outside"
    path = entry(cache, "cas", b"blob")
    plan = diskcache.plan_prune(diskcache.scan(cache), 0, protect_after_ns=10 * S)
    twin = outside / path.name
    twin.parent.mkdir(parents=True)
    twin.write_bytes(b"blob")
    os.utime(twin, ns=(S, S))
    shard = path.parent
    path.unlink()
    shard.rmdir()
    shard.symlink_to(outside)
    result = diskcache.execute(plan, cache)
    assert result.removed == 0 and twin.exists()
