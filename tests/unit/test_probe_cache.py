"""Probe results remembered by file identity (tfbuild.discovery.probecache), with a stand-in
runner: a remembered success runs nothing; a changed file, a failure or a foreign cache file
makes the probe run again."""

import os

from tfbuild.discovery import probecache
from tfbuild.discovery.programs import probe


class CountingRunner:
    def __init__(self, ok=True, output="clang version 17.0.6\n"):
        self.calls, self.ok, self.output = [], ok, output

    def run(self, argv, **kwargs):
        self.calls.append(list(argv))
        runner = self

        class Result:
            ok = runner.ok
            output = runner.output
        return Result()


def test_a_remembered_probe_runs_nothing_until_the_program_changes(tmp_path):
    tool = tmp_path / "clang"
    tool.write_text("v1")
    cache_file = tmp_path / "state" / "probe-cache.json"
    runner = CountingRunner()
    with probecache.using(cache_file):
        assert probe(runner, [str(tool), "--version"], depends_on=[tool]) == (True, runner.output)
    assert cache_file.exists() and len(runner.calls) == 1
    with probecache.using(cache_file):  # a new process reads the file
        assert probe(runner, [str(tool), "--version"], depends_on=[tool]) == (True, runner.output)
    assert len(runner.calls) == 1
    tool.write_text("v2 is longer")  # size and mtime change: asked again
    with probecache.using(cache_file):
        probe(runner, [str(tool), "--version"], depends_on=[tool])
    assert len(runner.calls) == 2


def test_a_replaced_file_with_the_same_size_and_mtime_is_asked_again(tmp_path):
    tool = tmp_path / "clang"
    tool.write_text("v1")
    stat = tool.stat()
    runner = CountingRunner()
    cache_file = tmp_path / "probe-cache.json"
    with probecache.using(cache_file):
        probe(runner, [str(tool), "--version"], depends_on=[tool])
    replacement = tmp_path / "clang.new"
    replacement.write_text("v2")
    os.utime(replacement, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    replacement.replace(tool)  # another inode
    with probecache.using(cache_file):
        probe(runner, [str(tool), "--version"], depends_on=[tool])
    assert len(runner.calls) == 2


def test_failures_and_probes_without_dependencies_are_never_remembered(tmp_path):
    tool = tmp_path / "clang"
    tool.write_text("v1")
    cache_file = tmp_path / "probe-cache.json"
    failing = CountingRunner(ok=False, output="error")
    with probecache.using(cache_file):
        assert probe(failing, [str(tool), "--version"], depends_on=[tool]) == (False, "error")
        assert probe(failing, [str(tool), "--version"], depends_on=[tool]) == (False, "error")
        runner = CountingRunner()
        probe(runner, ["git", "rev-parse", "HEAD"])
        probe(runner, ["git", "rev-parse", "HEAD"])
    assert len(failing.calls) == 2 and len(runner.calls) == 2


def test_no_active_cache_probes_every_time(tmp_path):
    tool = tmp_path / "clang"
    tool.write_text("v1")
    runner = CountingRunner()
    probe(runner, [str(tool), "--version"], depends_on=[tool])
    probe(runner, [str(tool), "--version"], depends_on=[tool])
    assert len(runner.calls) == 2


def test_an_unreadable_or_foreign_cache_file_is_ignored(tmp_path):
    tool = tmp_path / "clang"
    tool.write_text("v1")
    cache_file = tmp_path / "probe-cache.json"
    for content in (b"\xff\xfe not json", b'{"format": 999, "entries": {}}', b"[1, 2]"):
        cache_file.write_bytes(content)
        runner = CountingRunner()
        with probecache.using(cache_file):
            assert probe(runner, [str(tool), "--version"], depends_on=[tool])[0]
        assert len(runner.calls) == 1
