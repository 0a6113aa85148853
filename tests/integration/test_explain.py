"""`invoke explain`: why a teammate's actions missed, from the execution logs real Bazel (Debian's
4.2.3) wrote for two builds of the TF-shaped tree, each from its own checkout and output root (a
teammate's clean build), sharing one disk cache as a team shares a remote one."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from tests.helpers import browser
from tests.helpers import png as png_pixels
from tests.helpers.bazel import shutdown
from tests.helpers.cli import invoke
from tests.helpers.profiles import local_bazel_profile
from tests.helpers.trees import tarball_clang
from tests.integration.conftest import FIXTURE_WORKSPACE, link_tree
from tfbuild import report_html

CUDA = """
[cuda]
local_cuda_path = "{cuda}"
local_cudnn_path = "{cudnn}"
compute_capabilities = ["sm_86"]
"""
TARGETS = 'targets = ["//tensorflow:libtensorflow.so.2.18.1", "//tensorflow/tools/pip_package:wheel"]\n'
# under a CUDA profile (the tree's libtensorflow insists on the configured clang, which TF's
# cuda_clang config does not hand to the tree's cc rules): a generator built and run in the exec
# configuration. Not //tensorflow:cuda_probe: it copies what the tree's @local_config_cuda saw,
# the per-user paths included (a probe of the tests, not a shape of TF's)
CUDA_TARGETS = 'targets = ["//tensorflow/tools/op_gen:op_wrappers"]\n'


class Team:
    """Teammates' builds: each its own checkout, output root, state and dist; one disk cache."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.made: list[tuple[Path, Path]] = []

    def build(self, name: str, *, cuda: str = "", edit=None, extra: tuple[str, ...] = ()) -> Path:
        home = self.base / name
        source = home / "tensorflow"
        shutil.copytree(FIXTURE_WORKSPACE, source, symlinks=True)
        if edit:
            edit(source)
        root = home / "root"
        self.made.append((source, root))
        profile = Path(local_bazel_profile(
            home / "team.toml", output_root=root, dist=home / "dist",
            extra=(CUDA_TARGETS if cuda else TARGETS) + f'disk_cache = "{self.base / "disk-cache"}"\n'
                  "[tensorflow]\nsource_date_epoch = 1741219200\n"))
        text = profile.read_text().replace('disk_cache = ""\n', "")
        if cuda:  # with a tarball clang, whose runtime dir the generator needs (LD_LIBRARY_PATH)
            clang = self.base / "llvm16"
            if not clang.exists():
                tarball_clang(clang)
            text = text.replace('extends = "cpu"', 'extends = "cuda-local"').replace(
                "[toolchain]\n", f'[toolchain]\nclang_prefix = "{clang}"\n') + cuda
        profile.write_text(text)
        proc = invoke(["build", "--profile", str(profile), "--source", str(source), *extra],
                      env={"TFBUILD_STATE_DIR": str(home / "state")})
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        return home / "dist" / "team"

    def close(self) -> None:
        for source, root in self.made:
            shutdown(source, root)


@pytest.fixture
def team(tmp_path):
    made = Team(tmp_path)
    yield made
    made.close()


def explain(*args: str):
    proc = invoke(["explain", *map(str, args)])
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr
    return proc


def test_two_users_differing_only_in_the_cudnn_path(team, runfile_cuda, local_cudnn, tmp_path):
    """The issue's example: one teammate's cuDNN at another path. Every action gets the profile's
    LD_LIBRARY_PATH, so every one misses; explain names one cause and the key behind it."""
    other_cudnn = tmp_path / "media" / "workspace" / "cudnn0910" / "instdir"
    link_tree(local_cudnn, other_cudnn)
    a = team.build("ann", cuda=CUDA.format(cuda=runfile_cuda, cudnn=local_cudnn))
    b = team.build("bob", cuda=CUDA.format(cuda=runfile_cuda, cudnn=other_cudnn))
    proc = explain(a, b)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = proc.stdout
    assert "1 root cause" in out, out
    assert f"environment LD_LIBRARY_PATH: A has {local_cudnn}/lib, B has {other_cudnn}/lib" in out
    assert "from --action_env LD_LIBRARY_PATH (.tf_configure.bazelrc)" in out
    assert f"from profile key cuda.local_cudnn_path ('{local_cudnn}' vs '{other_cudnn}')" in out
    doc = json.loads(explain(a, b, "--json").stdout)
    (cause,) = doc["causes"]
    assert cause["kind"] == "environment" and cause["name"] == "LD_LIBRARY_PATH"
    # every action both builds ran differs by it; Bazel ran all of B's: none was a cache hit
    assert cause["actions"] == doc["differing"] == doc["matched"] > 0, doc
    assert "remote cache hit" not in doc["b_ran"], doc["b_ran"]


def test_same_builds_then_one_changed_source_file(team, tmp_path):
    """Identical builds: no differences, exit 0 (B's actions all served by the cache A filled).
    One changed source file: explain names that file and counts the actions it reaches, its
    compile and what depends on its output (the link, the wheel); the rest were cache hits."""
    a = team.build("ann", extra=("--bazel-opt=--execution_log_json_file=" + str(tmp_path / "a.json"),))
    b = team.build("bob")
    same = explain(a, b)
    assert same.returncode == 0, same.stdout + same.stderr
    assert "no differences" in same.stdout
    assert "remote cache hit" in same.stdout  # Bazel 4.2.3 names disk cache hits so

    def edit(source: Path) -> None:
        changed = source / "tensorflow" / "c" / "framework.c"
        changed.write_text(changed.read_text() + "\nint teammates_edit(void) { return 1; }\n")
    c = team.build("cy", edit=edit)
    proc = explain(a, c)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    doc = json.loads(explain(a, c, "--json").stdout)
    first = doc["causes"][0]
    assert (first["kind"], first["name"]) == ("source file", "tensorflow/c/framework.c"), doc
    assert len(doc["causes"]) == 1, doc["causes"]
    # its compile, the link of libtensorflow_framework, the .so.2 link to it, and the wheel that
    # packs it (a change that leaves the object file as it was, a comment, reaches the compile
    # only: Bazel keys the link by the object's digest)
    assert first["actions"] == doc["differing"] == 4, doc
    assert {e.split()[0] for e in first["examples"]} >= {"CppCompile", "CppLink"}, first
    assert doc["b_ran"].get("remote cache hit", 0) == doc["matched"] - doc["differing"], doc
    assert "1. source file tensorflow/c/framework.c: digest" in proc.stdout

    # Bazel's own JSON log is read as well as the one tfbuild kept
    assert explain(tmp_path / "a.json", b).returncode == 0


def test_unreadable_inputs_are_clear_errors(team, tmp_path):
    a = team.build("ann", extra=("--bazel-opt=--execution_log_json_file=" + str(tmp_path / "a.json"),))
    manifest = json.loads((a / "manifest.json").read_text())
    kept = Path(manifest["run"]["account"]["files"]["execution_log"]["path"])

    cut = tmp_path / "cut.json"  # Bazel's JSON log cut short (a build killed while writing)
    text = (tmp_path / "a.json").read_text()
    cut.write_text(text[: len(text) // 2])
    proc = explain(cut, a)
    assert proc.returncode == 2 and "ends inside record" in proc.stderr, proc.stderr
    assert "fix:" in proc.stderr

    cut_gz = tmp_path / "cut.exec.json.gz"
    data = kept.read_bytes()
    cut_gz.write_bytes(data[: len(data) // 2])
    proc = explain(a, cut_gz)
    assert proc.returncode == 2 and "B's log" in proc.stderr, proc.stderr

    # a build by another Bazel (its manifest says so): not comparable, said before reading
    other = tmp_path / "other-bazel"
    shutil.copytree(a, other)
    doc = json.loads((other / "manifest.json").read_text())
    doc["toolchain"]["bazel"]["version"] = "6.5.0"
    (other / "manifest.json").write_text(json.dumps(doc))
    proc = explain(a, other)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Bazel 4.2.3, B by Bazel 6.5.0" in proc.stderr and "fix:" in proc.stderr

    # the log a manifest names, replaced: refused by its sha256
    with gzip.open(kept, "at") as handle:
        handle.write("{}\n")
    proc = explain(a, a)
    assert proc.returncode == 2 and "sha256 differs" in proc.stderr, proc.stderr

    for bad in (tmp_path / "missing", FIXTURE_WORKSPACE / "WORKSPACE"):
        proc = explain(bad, tmp_path / "a.json")
        assert proc.returncode == 2 and proc.stderr.strip(), proc.stderr


def test_the_report_page_renders_in_chromium_with_the_timeline(team, tmp_path, capsys):
    """`invoke report` of a real build, against a teammate's: one self-contained page that
    headless Chromium (every network name unresolvable) renders without a console message; its
    screenshot shows the timeline (the critical path's color), its DOM the miss cause. A page
    with a planted script error shows the console check catching it."""
    control = tmp_path / "control.html"
    control.write_text("<!doctype html><p>x</p><script>missing_function();</script>")
    assert any("missing_function" in m for m in browser.screenshot(control, tmp_path / "c.png"))

    a = team.build("ann")

    def edit(source: Path) -> None:
        changed = source / "tensorflow" / "c" / "c_api.c"
        changed.write_text(changed.read_text() + "\nint teammates_edit(void) { return 2; }\n")
    b = team.build("bob", edit=edit)
    proc = invoke(["report", str(b), "--against", str(a)])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    page = b / "report.html"
    assert "report: " in proc.stdout and str(page) in proc.stdout
    png = tmp_path / "report.png"
    assert browser.screenshot(page, png) == []  # no console message: no error, no blocked load
    critical = png_pixels.count_color(png, report_html.CRITICAL_COLOR)
    assert critical > 2000, critical  # the critical-path lane of the timeline (the legend: ~100)
    shown = browser.dom(page)
    assert 'id="timeline"' in shown and shown.count("<rect") > 4
    assert "source file" in shown and "tensorflow/c/c_api.c" in shown
    with capsys.disabled():
        print(f"\n  report screenshot: {png} ({critical} px of the critical path)")
    missing = invoke(["report", str(tmp_path / "nowhere")])
    assert missing.returncode == 2 and "fix:" in missing.stderr, missing.stderr
