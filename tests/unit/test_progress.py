"""Bazel's progress lines before the first `[n / m]`, and what tfbuild shows for them.

The shapes are Bazel's own, read in its source (bazelbuild/bazel,
src/main/java/com/google/devtools/build/lib/runtime/UiStateTracker.java: writeProgressBar
writes "Loading: <packages>" with "    <currently loading ...>" under it, and
"Analyzing: <targets> (<packages loaded>, <targets configured>)"; reportOnDownloads writes
FETCH_PREFIX "    Fetching " + url + "; " + progress + " <N>s"; .../downloader/
DownloadProgressEvent.java getProgress() words the progress "10.1 MiB (20.2%)" or
"10.1 MiB (10,590,000B)"), and the Loading/Analyzing lines as Debian's Bazel 4.2.3 printed them
here with --curses=no. With --curses=no UiEventHandler passes shortVersion = !cursorControl, so
the Fetching lines only come with a terminal; tfbuild.building.fetchwatch covers that case.
"""

import io
import os

from tfbuild.building.fetchwatch import OutputBaseWatcher
from tfbuild.building.progress import BuildSummary, LogPipeline, PlainProgress, parse_size

BAZEL_4_2_3 = [  # captured from Bazel 4.2.3, --color=no --curses=no, during a slow download
    "Loading: \n",
    "Loading: 0 packages loaded\n",
    "Analyzing: target //:g (0 packages loaded, 0 targets configured)\n",
    "Analyzing: target //:g (3 packages loaded, 1 target configured)\n",
]


def run(lines):
    seen = []
    pipe = LogPipeline(io.StringIO(), on_progress=lambda s: seen.append(s.describe()))
    pipe.feed_text("".join(lines))
    return pipe.summary, seen


def test_loading_and_analyzing_lines_set_the_phase():
    summary, seen = run(BAZEL_4_2_3)
    assert seen[1] == "loading: 0 packages loaded"
    assert seen[-1] == "analyzing: target //:g (3 packages loaded, 1 target configured)"
    assert summary.phase == "analyzing" and (summary.done, summary.total) == (0, 0)


def test_currently_loading_and_fetching_lines_from_bazels_source_shapes():
    summary, seen = run([
        "Loading: 12 packages loaded\n",
        "    currently loading: tensorflow/core/kernels ... (4 packages)\n",
        "Analyzing: 3 targets (412 packages loaded, 1,234 targets configured)\n",
        "    Fetching https://storage.googleapis.com/mirror.tensorflow.org/github.com/llvm/"
        "llvm-project/archive/abc.tar.gz; 45.0 MiB (12.3%) 37s\n",
    ])
    assert seen[1] == "loading: currently loading: tensorflow/core/kernels ... (4 packages)"
    assert summary.fetching.endswith("llvm-project/archive/abc.tar.gz")
    assert summary.fetch_bytes == 45 * 1024 * 1024
    assert seen[-1] == ("analyzing: 3 targets (412 packages loaded, 1,234 targets configured); "
                        f"fetching {summary.fetching} (45.0 MiB)")


def test_sizes_as_bazel_words_them():
    assert parse_size("10.1 MiB (10,590,000B) 12s") == int(10.1 * 1024 * 1024)
    assert parse_size("45 MiB") == 45 * 1024 * 1024
    assert parse_size("2.5 GiB (40.0%)") == int(2.5 * 1024**3)
    assert parse_size("fetching 5s") is None


def test_building_lines_win_over_late_phase_lines():
    summary, seen = run(["Analyzing: 3 targets (1 packages loaded)\n",
                         "[10 / 1,000] Compiling tensorflow/core/framework/tensor.cc; 3s local\n",
                         "Analyzing: 3 targets (1 packages loaded)\n"])
    assert summary.phase == "building"
    assert seen[-1] == "[10 / 1,000] Compiling tensorflow/core/framework/tensor.cc; 3s local"


def test_plain_progress_says_the_phase_at_most_every_interval():
    out = []
    plain = PlainProgress(out.append, interval=3600)
    summary = BuildSummary(phase="analyzing", phase_detail="3 targets",
                           fetching="@cuda_nvcc", fetch_bytes=3 * 1024 * 1024, fetched=12)
    plain(summary)
    plain(summary)
    assert out == ["analyzing: 3 targets; fetching @cuda_nvcc (3.0 MiB); 12 repositories fetched"]


def test_plain_progress_shows_the_building_phase_at_once():
    """A pipe or CI log sees `[n / m]` as soon as building starts, although the analysing line
    came less than an interval before (CI caught a 6-second build with no count at all)."""
    out = []
    plain = PlainProgress(out.append, interval=3600)
    plain(BuildSummary(phase="analyzing", phase_detail="3 targets"))
    plain(BuildSummary(phase="building", done=1, total=7, action="Executing genrule //big:slow0"))
    plain(BuildSummary(phase="building", done=2, total=7, action="Executing genrule //big:slow1"))
    assert out == ["analyzing: 3 targets", "[1 / 7] Executing genrule //big:slow0"]


def test_output_base_watcher_reports_the_growing_download(tmp_path):
    external = tmp_path / "external"
    (external / "done_repo").mkdir(parents=True)
    (external / "@done_repo.marker").write_text("")
    (external / "done_repo" / "big.tar.gz").write_bytes(b"x" * 5000)  # fetched: ignored
    temp = external / "cuda_nvcc" / "temp123"
    temp.mkdir(parents=True)
    (temp / "cuda_nvcc.tar.xz").write_bytes(b"x" * 1000)
    (external / "stale").mkdir()
    (external / "stale" / "half.zip").write_bytes(b"x" * 700)
    watcher = OutputBaseWatcher(tmp_path)
    first = watcher.scan()
    assert (first.fetched, first.fetching, first.size) == (1, "@cuda_nvcc", 1000)
    with open(temp / "cuda_nvcc.tar.xz", "ab") as f:
        f.write(b"x" * 1000)
    second = watcher.scan()
    assert (second.fetching, second.size) == ("@cuda_nvcc", 2000)
    third = watcher.scan()  # nothing grew: nothing is reported as downloading
    assert (third.fetched, third.fetching, third.size) == (1, "", None)


def test_watcher_without_an_output_base_reports_nothing(tmp_path):
    state = OutputBaseWatcher(tmp_path / "missing").scan()
    assert (state.fetched, state.fetching) == (0, "")
    assert not os.path.exists(tmp_path / "missing")
