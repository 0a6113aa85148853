"""The report page, rendered from fixed data (pure): the golden page, the timeline read from a
JSON trace profile, and what must never reach the page (secrets, markup from action names)."""

from __future__ import annotations

import pytest

from tests.helpers.golden import check_golden
from tfbuild import report_html, secrets

pytestmark = pytest.mark.unit


def event(name, ts, dur, tid, cat=report_html.ACTION_CATEGORY, mnemonic="CppCompile"):
    return {"ph": "X", "cat": cat, "name": name, "ts": ts, "dur": dur, "tid": tid,
            "args": {"mnemonic": mnemonic}}


PROFILE = {"traceEvents": [
    {"ph": "M", "name": "thread_name", "tid": 7, "args": {"name": "skyframe-evaluator 0"}},
    {"ph": "M", "name": "thread_name", "tid": 8, "args": {"name": "skyframe-evaluator 1"}},
    event("Compiling tensorflow/c/c_api.c", 1_000_000, 2_000_000, 7),
    event("Compiling tensorflow/c/framework.c", 1_500_000, 1_000_000, 8),
    event("Linking tensorflow/libtensorflow.so.2.18.1", 3_000_000, 1_000_000, 7, mnemonic="CppLink"),
    event("action 'Compiling tensorflow/c/c_api.c'", 1_000_000, 2_000_000, 0,
          cat=report_html.CRITICAL_CATEGORY),
    event("action 'Linking'", 3_000_000, 1_000_000, 0, cat=report_html.CRITICAL_CATEGORY),
    {"ph": "i", "name": "not a bar"},
]}
ACCOUNT = {"actions": {"executed_locally": 3, "disk_cache_hits": 1, "internal": 2},
           "wall_s": 4.5, "critical_path_s": 3.0,
           "slowest_actions": [{"action": "Compiling tensorflow/c/c_api.c", "seconds": 2.0}]}


def test_timeline_lanes_bars_and_the_critical_path():
    line = report_html.timeline(PROFILE)
    assert line.lanes == ("critical path", "skyframe-evaluator 0", "skyframe-evaluator 1")
    assert line.total_s == 3.0
    crit = [b for b in line.bars if b.critical]
    assert [(b.lane, b.start_s, b.seconds) for b in crit] == [(0, 0.0, 2.0), (0, 2.0, 1.0)]
    link = next(b for b in line.bars if b.mnemonic == "CppLink")
    assert (link.lane, link.start_s) == (1, 2.0)
    assert report_html.timeline({"traceEvents": []}).bars == ()
    assert report_html.timeline(None).bars == ()


def test_the_page_is_golden():
    page = report_html.render(title="tfbuild: the build of rtx3050",
                              facts=[("profile", "rtx3050"), ("Bazel", "4.2.3")],
                              account=ACCOUNT, line=report_html.timeline(PROFILE),
                              causes=[{"kind": "environment", "name": "LD_LIBRARY_PATH",
                                       "a": "/opt/cudnn/lib", "b": "/media/cudnn/lib",
                                       "actions": 5, "examples": [],
                                       "from": ["profile key cuda.local_cudnn_path"]}],
                              compared_with="dist/ann")
    check_golden("report/report.html", page)
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "<script" not in page


def test_markup_and_secrets_never_reach_the_page():
    secrets.forget_all()
    secrets.register("tok-5555-secret")
    hostile = {"traceEvents": [event("<script>alert(1)</script> tok-5555-secret", 0, 10, 1)]}
    page = report_html.render(title="t", facts=[("log", "--remote_header=Authorization=abc")],
                              account={"slowest_actions": [{"action": "<img src=x>", "seconds": 1}]},
                              line=report_html.timeline(hostile))
    secrets.forget_all()
    assert "<script>alert" not in page and "<img src=x>" not in page
    assert "&lt;script&gt;" in page
    assert "tok-5555-secret" not in page and "Authorization=abc" not in page


def test_a_huge_profile_keeps_what_a_pixel_can_show():
    many = [event(f"a{i}", i * 10, 5, i % 4) for i in range(report_html.MAX_BARS + 500)]
    many.append(event("long", 0, 10 * (report_html.MAX_BARS + 500), 9))
    line = report_html.timeline(many)
    assert line.left_out == report_html.MAX_BARS + 500
    assert [b.name for b in line.bars] == ["long"]
