"""Artifacts are the files Bazel's build events name for the requested targets (issue 20, item
4), never a glob: the event shapes are those Debian's Bazel 4.2.3 writes with
--build_event_json_file (targetCompleted with a default output group of named sets)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tfbuild.building import account, artifacts
from tfbuild.errors import BuildFailed

WHEEL = "//tensorflow/tools/pip_package:wheel"


def events(bin_dir: Path, targets: dict[str, list[str]], extra_sets=()) -> list[str]:
    out, set_id = [], 0
    for label, names in targets.items():
        out.append(json.dumps({"id": {"namedSet": {"id": str(set_id)}}, "namedSetOfFiles": {
            "files": [{"name": n, "uri": f"file://{bin_dir / n}"} for n in names],
            "fileSets": [{"id": s} for s in extra_sets]}}))
        out.append(json.dumps({"id": {"targetCompleted": {"label": label, "configuration": {
            "id": "c1"}}}, "completed": {"success": True, "outputGroup": [
                {"name": "default", "fileSets": [{"id": str(set_id)}]}]}}))
        set_id += 1
    return out


def outputs(tmp_path: Path, targets: dict[str, list[str]], requested=None) -> list[Path]:
    for names in targets.values():
        for name in names:
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / name).write_text(name)
    bep = account.read_bep(events(tmp_path, targets))
    return artifacts.outputs_from_events(bep.target_outputs, tuple(requested or targets))


def test_only_the_files_the_events_name_are_collected(tmp_path):
    wheel_house = "tensorflow/tools/pip_package/wheel_house"
    (tmp_path / wheel_house).mkdir(parents=True)
    (tmp_path / wheel_house / "tensorflow-2.17.0-cp310-cp310-linux_x86_64.whl").write_text("old")
    (tmp_path / "tensorflow" / "libtensorflow_cc.so.2").parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / "tensorflow" / "libtensorflow_cc.so.2").write_text("an earlier build's")
    found = outputs(tmp_path, {
        "//tensorflow:libtensorflow.so": ["tensorflow/libtensorflow.so.2.18.1",
                                          "tensorflow/libtensorflow.so.2"],
        WHEEL: [f"{wheel_house}/tensorflow-2.18.1-cp310-cp310-linux_x86_64.whl"]})
    assert sorted(p.name for p in found) == [
        "libtensorflow.so.2", "libtensorflow.so.2.18.1",
        "tensorflow-2.18.1-cp310-cp310-linux_x86_64.whl"]


def test_named_sets_are_followed_through_their_children(tmp_path):
    (tmp_path / "a.so").write_text("a")
    (tmp_path / "b.so").write_text("b")
    lines = [json.dumps({"id": {"namedSet": {"id": "9"}}, "namedSetOfFiles": {
        "files": [{"name": "b.so", "uri": f"file://{tmp_path / 'b.so'}"}]}}),
        *events(tmp_path, {"//x:lib": ["a.so"]}, extra_sets=["9"])]
    bep = account.read_bep(lines)
    assert [p.name for p in artifacts.outputs_from_events(bep.target_outputs, ("//x:lib",))] \
        == ["a.so", "b.so"]


@pytest.mark.parametrize("case, message", [
    ("no-events", "name no target outputs"),
    ("missing-target", "do not report //tensorflow:libtensorflow_framework.so"),
    ("no-files", "produced no output file"),
    ("no-wheel", "built no .whl file"),
    ("remote", "was not downloaded"),
    ("collision", "two outputs are named"),
])
def test_what_cannot_be_collected_is_refused(tmp_path, case, message):
    lib = {"//tensorflow:libtensorflow.so": ["tensorflow/libtensorflow.so.2"]}
    with pytest.raises(BuildFailed, match=message):
        if case == "no-events":
            artifacts.outputs_from_events((), ("//tensorflow:libtensorflow.so",))
        elif case == "missing-target":
            outputs(tmp_path, lib, ["//tensorflow:libtensorflow.so",
                                    "//tensorflow:libtensorflow_framework.so"])
        elif case == "no-files":
            outputs(tmp_path, {"//tensorflow:libtensorflow.so": []})
        elif case == "no-wheel":
            outputs(tmp_path, {**lib, WHEEL: ["tensorflow/tools/pip_package/README"]})
        elif case == "remote":
            artifacts.outputs_from_events(
                (("//x:y", True, ("bytestream://cache/blobs/abc/12",)),), ("//x:y",))
        elif case == "collision":
            outputs(tmp_path, {"//a:x": ["a/libx.so"], "//b:x": ["b/libx.so"]})


def test_patterns_in_the_targets_need_no_event_of_their_own(tmp_path):
    found = outputs(tmp_path, {"//tensorflow:libtensorflow.so": ["tensorflow/libtensorflow.so.2"]},
                    ["//tensorflow/...", "//tensorflow:libtensorflow.so"])
    assert [p.name for p in found] == ["libtensorflow.so.2"]


def test_a_package_label_is_matched_as_events_print_it():
    assert artifacts._canonical("//tensorflow/c") == "//tensorflow/c:c"
    assert artifacts._canonical("@repo//:env.txt") == "@repo//:env.txt"
    assert artifacts._canonical("//tensorflow:libtensorflow.so") == "//tensorflow:libtensorflow.so"


def test_the_headers_a_make_rule_names_under_the_include_root():
    """`cc -MM` output: continuation lines, spaces escaped as "\\ ", files outside the root
    (the translation unit itself, system headers) left out."""
    from tfbuild.building.c_headers import included_by

    rule = ("c_api_headers.o: /tmp/my\\ dir/c_api_headers.c \\\n"
            " /tmp/my\\ dir/include/tensorflow/c/c_api.h \\\n"
            "  /tmp/my\\ dir/include/tsl/platform/ctstring.h /usr/include/stdint.h\n")
    assert included_by(rule, Path("/tmp/my dir/include")) == [
        "tensorflow/c/c_api.h", "tsl/platform/ctstring.h"]
