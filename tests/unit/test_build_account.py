"""The build's account, from hand-written excerpts in the shapes Bazel writes.

Shapes: Debian's Bazel 4.2.3, observed here (BEP `buildMetrics.actionSummary` without
runnerCount, `buildToolLogs` entries "process stats" and "critical path" as base64 text; the
profile's "action processing" and "critical path component" events, durations in µs); Bazel
5.1+ `actionSummary.runnerCount` entries {name, count, execKind} with a "total" entry (bazel's
MetricsCollector.finishActionSummary and SpawnStats.getSummary) and "disk cache hit" as its own
runner name (bazelbuild/bazel#16043)."""

import base64
import json

import pytest

from tfbuild.building import account as acc
from tfbuild import secrets


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def bep(*events: dict) -> list[str]:
    return [json.dumps(e) for e in events]


STARTED = {"id": {"started": {}}, "started": {"uuid": "u", "startTimeMillis": "1000000",
                                              "command": "build"}}
FINISHED = {"id": {"buildFinished": {}}, "finished": {"overallSuccess": True,
                                                      "finishTimeMillis": "1009959"}}
METRICS_423 = {"id": {"buildMetrics": {}}, "buildMetrics": {
    "actionSummary": {"actionsCreated": "3", "actionsExecuted": "4"},
    "timingMetrics": {"cpuTimeInMs": "2560", "wallTimeInMs": "6106"}}}


def tool_logs(process_stats: str, critical: str = "Critical Path: 0.72s, Remote (0.00% of "
              "the time): [parse: 0.00%]\n  0.25s action 'Executing genrule //t:wheel'") -> dict:
    return {"id": {"buildToolLogs": {}}, "lastMessage": True, "buildToolLogs": {"log": [
        {"name": "elapsed time", "contents": b64("9.959000")},
        {"name": "critical path", "contents": b64(critical)},
        {"name": "process stats", "contents": b64(process_stats)},
        {"name": "build.profile.json.gz", "uri": "file:///tmp/build.profile.json.gz"}]}}


def metrics_with_runners(*runners: tuple, critical: str | None = None) -> dict:
    summary = {"actionsExecuted": "9", "runnerCount": [
        {"name": name, "count": count, **({"execKind": kind} if kind else {})}
        for name, count, kind in runners]}
    timing = {"wallTimeInMs": "5000", **({"criticalPathTime": critical} if critical else {})}
    return {"id": {"buildMetrics": {}}, "buildMetrics": {"actionSummary": summary,
                                                         "timingMetrics": timing}}


PROFILE = {"otherData": {"build_id": "u"}, "traceEvents": [
    {"name": "thread_name", "ph": "M", "pid": 1, "tid": 0, "args": {"name": "Critical Path"}},
    {"cat": "action processing", "name": "BazelWorkspaceStatusAction stable-status.txt",
     "ph": "X", "ts": 5253675, "dur": 65990, "pid": 1, "tid": 65},
    {"cat": "remote action cache check", "name": "check cache hit", "ph": "X", "ts": 5432490,
     "dur": 7090, "pid": 1, "tid": 65},
    {"cat": "action processing", "name": "Executing genrule //tensorflow:libtensorflow.so",
     "ph": "X", "ts": 5369500, "dur": 460449, "pid": 1, "tid": 65},
    {"cat": "action processing", "name": "Executing genrule //tensorflow:framework",
     "ph": "X", "ts": 5269054, "dur": 468839, "pid": 1, "tid": 66},
    {"cat": "action processing", "name": "Executing genrule //t:wheel", "ph": "X",
     "ts": 5840776, "dur": 242345, "pid": 1, "tid": 66},
    {"cat": "critical path component", "name": "action 'Executing genrule //t:framework'",
     "ph": "X", "ts": 5263908, "dur": 473215, "pid": 1, "tid": 0},
    {"cat": "critical path component", "name": "action 'Executing genrule //t:wheel'",
     "ph": "X", "ts": 5832018, "dur": 250615, "pid": 1, "tid": 0},
    {"name": "action counters", "ph": "C", "ts": 5085088, "pid": 1, "tid": 20,
     "args": {"cpu": "0.245"}},
]}


def test_bazel_423_counts_come_from_the_process_stats_tool_log():
    facts = acc.read_bep(bep(STARTED, METRICS_423, FINISHED,
                             tool_logs("4 processes: 1 internal, 3 linux-sandbox.")))
    assert facts.runner_counts is None  # Bazel 4.2.3 has no runnerCount
    account = acc.make_account(facts, acc.read_profile(PROFILE), None)
    assert (account.total, account.local, account.internal) == (4, 3, 1)
    assert (account.remote_cache_hits, account.disk_cache_hits) == (0, 0)
    assert account.sources["counts"] == "bep:buildToolLogs[process stats]"


def test_wall_time_from_the_started_and_finished_events():
    account = acc.make_account(acc.read_bep(bep(STARTED, FINISHED)), None, None)
    assert account.wall_s == pytest.approx(9.959)
    assert account.sources["wall"] == "bep:started/finished"


def test_wall_time_from_rfc3339_timestamps():
    started = {"started": {"startTime": "2024-01-01T10:00:00Z"}}
    finished = {"finished": {"finishTime": "2024-01-01T10:01:30.500Z",
                             "exitCode": {"name": "SUCCESS"}}}
    facts = acc.read_bep(bep(started, finished))
    assert acc.make_account(facts, None, None).wall_s == pytest.approx(90.5)
    assert facts.success is True


def test_runner_count_is_preferred_and_splits_disk_from_remote_hits():
    facts = acc.read_bep(bep(
        metrics_with_runners(("total", 9, None), ("remote cache hit", 4, "Remote"),
                             ("disk cache hit", 2, None), ("internal", 1, None),
                             ("linux-sandbox", 2, "Local")),
        tool_logs("9 processes: 4 remote cache hit, 5 other.")))
    account = acc.make_account(facts, None, None, options=["--disk_cache=/d",
                                                           "--remote_cache=http://c"])
    assert account.sources["counts"] == "bep:buildMetrics.actionSummary.runnerCount"
    assert (account.total, account.remote_cache_hits, account.disk_cache_hits,
            account.internal, account.local) == (9, 4, 2, 1, 2)
    assert account.cache_hits_unsplit == 0
    assert not any("cache" in note for note in account.notes)


def test_remote_execution_is_not_counted_as_local():
    facts = acc.read_bep(bep(metrics_with_runners(("total", 5, None), ("remote", 3, "Remote"),
                                                  ("worker", 1, "Worker"),
                                                  ("rbe-custom", 1, "Remote"))))
    account = acc.make_account(facts, None, None)
    assert (account.remote_executed, account.local) == (4, 1)
    assert "4 executed remotely" in acc.summary_line(account)


@pytest.mark.parametrize(("options", "remote", "disk", "unsplit"), [
    (["--disk_cache=/home/u/.cache/d"], 0, 3, 0),
    (["--remote_cache=http://127.0.0.1:8080"], 3, 0, 0),
    (["--disk_cache=/d", "--remote_cache=grpc://c:1"], None, None, 3),
    (["--remote_cache=http://c", "--disk_cache=/d", "--disk_cache="], 3, 0, 0),  # last wins
    ([], None, None, 3),  # hits from caches it cannot see (an rc file tfbuild did not read)
])
def test_bazel_4_cache_hits_are_split_by_which_caches_were_configured(options, remote, disk,
                                                                      unsplit):
    facts = acc.read_bep(bep(tool_logs("4 processes: 3 remote cache hit, 1 internal.")))
    account = acc.make_account(facts, None, None, options=options)
    assert (account.remote_cache_hits, account.disk_cache_hits) == (remote, disk)
    assert account.cache_hits_unsplit == unsplit
    if unsplit:
        assert "3 cache hits (disk or remote)" in acc.summary_line(account)
        assert any("cannot be told apart" in n for n in account.notes)


def test_the_bep_effective_options_decide_over_the_given_ones():
    """A disk cache set in a .bazelrc shows in optionsParsed.cmdLine, not in tfbuild's argv."""
    parsed = {"id": {"optionsParsed": {}},
              "optionsParsed": {"cmdLine": ["--disk_cache=/from/bazelrc", "--color=no"]}}
    facts = acc.read_bep(bep(parsed, tool_logs("2 processes: 2 remote cache hit.")))
    account = acc.make_account(facts, None, None, options=["--remote_cache=http://c"])
    assert (account.remote_cache_hits, account.disk_cache_hits) == (0, 2)


def test_console_summary_is_the_last_resort():
    account = acc.make_account(None, None, {"remote cache hit": 2, "internal": 1},
                               options=["--remote_cache=http://c"])
    assert (account.total, account.remote_cache_hits, account.internal) == (3, 2, 1)
    assert account.sources["counts"] == "console:INFO processes"
    assert "slowest actions are unknown" in " ".join(account.notes)


def test_nothing_known_says_so():
    account = acc.make_account(None, None, None)
    assert not account.known
    assert acc.summary_line(account) == "actions: unknown"
    assert acc.lines(account)[1] == "time: ? wall, ? critical path"


def test_slowest_actions_from_the_profile_longest_first():
    account = acc.make_account(None, acc.read_profile(PROFILE), None, top=2)
    assert [(a.description, round(a.seconds, 3)) for a in account.slowest] == [
        ("Executing genrule //tensorflow:framework", 0.469),
        ("Executing genrule //tensorflow:libtensorflow.so", 0.46)]
    assert account.sources["slowest"] == "profile:action processing"


def test_ten_slowest_at_most_and_mnemonics_kept_when_the_profile_has_them():
    events = [{"cat": "action processing", "name": f"Compiling a{i}.cc", "ph": "X", "ts": i,
               "dur": 1000 * i, "args": {"mnemonic": "CppCompile"}} for i in range(1, 15)]
    account = acc.make_account(None, acc.read_profile({"traceEvents": events}), None)
    assert len(account.slowest) == 10
    assert account.slowest[0].description == "Compiling a14.cc"
    assert account.slowest[0].as_dict() == {"action": "Compiling a14.cc", "seconds": 0.014,
                                            "mnemonic": "CppCompile"}


def test_bare_event_list_profile():
    events = PROFILE["traceEvents"]
    assert acc.read_profile(events) == acc.read_profile(PROFILE)


def test_critical_path_prefers_bep_data_then_profile_then_text():
    text_only = acc.read_bep(bep(tool_logs("1 process: 1 internal.")))
    assert acc.make_account(text_only, None, None).critical_path_s == pytest.approx(0.72)
    profile = acc.read_profile(PROFILE)
    from_profile = acc.make_account(text_only, profile, None)
    assert from_profile.critical_path_s == pytest.approx(0.72383)
    assert from_profile.sources["critical_path"] == "profile:critical path component"
    newer = acc.read_bep(bep(metrics_with_runners(("total", 1, None), ("internal", 1, None),
                                                  critical="12.500s")))
    from_bep = acc.make_account(newer, profile, None)
    assert from_bep.critical_path_s == pytest.approx(12.5)
    assert from_bep.sources["critical_path"] == "bep:timingMetrics.criticalPathTime"


def test_a_stream_cut_short_is_read_as_far_as_it_goes():
    lines = bep(STARTED, tool_logs("2 processes: 2 linux-sandbox.")) + ['{"id": {"buildFin']
    facts = acc.read_bep(lines)
    assert facts.start_ms == 1000000 and facts.finish_ms is None
    assert acc.make_account(facts, None, None).local == 2


@pytest.mark.parametrize(("text", "expected"), [
    ("4 processes: 1 internal, 3 linux-sandbox.", {"total": 4, "internal": 1,
                                                   "linux-sandbox": 3}),
    ("1 process: 1 internal.", {"total": 1, "internal": 1}),
    ("0 processes.", {"total": 0}),
    ("977 disk cache hit, 456 internal", None),
])
def test_parse_process_stats(text, expected):
    assert acc.parse_process_stats(text) == expected


def test_printed_lines():
    facts = acc.read_bep(bep(STARTED, FINISHED, tool_logs("4 processes: 1 internal, "
                                                          "3 linux-sandbox.")))
    out = acc.lines(acc.make_account(facts, acc.read_profile(PROFILE), None))
    assert out[0] == ("actions: 3 executed locally, 0 remote cache hits, 0 disk cache hits, "
                      "1 internal (4 in all)")
    assert out[1] == "time: 9.96 s wall, 0.72 s critical path"
    assert out[2] == "slowest actions (4):"
    assert out[3] == "      0.47 s  Executing genrule //tensorflow:framework"


def test_as_dict_for_the_manifest():
    facts = acc.read_bep(bep(STARTED, FINISHED, tool_logs("2 processes: 2 remote cache hit.")))
    data = acc.make_account(facts, acc.read_profile(PROFILE), None,
                            options=["--remote_cache=http://c"]).as_dict()
    assert data["actions"] == {"total": 2, "executed_locally": 0, "executed_remotely": 0,
                               "remote_cache_hits": 2, "disk_cache_hits": 0,
                               "cache_hits_disk_or_remote": 0, "internal": 0,
                               "runners": {"remote cache hit": 2}}
    assert data["wall_s"] == 9.959 and data["critical_path_s"] == 0.724
    assert data["slowest_actions"][0] == {"action": "Executing genrule //tensorflow:framework",
                                          "seconds": 0.469}
    json.dumps(data)  # serialisable as it is


SECRET_EVENT = {"id": {"structuredCommandLine": {}}, "structuredCommandLine": {"sections": [
    {"sectionLabel": "command options", "optionList": {"option": [
        {"combinedForm": "--client_env=CACHE_AUTH_HEADER=Authorization: Bearer tok-123",
         "optionName": "client_env",
         "optionValue": "CACHE_AUTH_HEADER=Authorization: Bearer tok-123"},
        {"combinedForm": "--client_env=GITHUB_TOKEN=ghp_abc", "optionName": "client_env",
         "optionValue": "GITHUB_TOKEN=ghp_abc"},
        {"combinedForm": "--client_env=HOME=/home/u", "optionName": "client_env",
         "optionValue": "HOME=/home/u"},
        {"combinedForm": "--remote_header=Authorization=Bearer tok-123",
         "optionName": "remote_header", "optionValue": "Authorization=Bearer tok-123"},
        {"combinedForm": "--repo_env=WHEEL_NAME=tensorflow", "optionName": "repo_env",
         "optionValue": "WHEEL_NAME=tensorflow"}]}}]}}
STARTED_SECRET = {"id": {"started": {}}, "started": {
    "optionsDescription": "--color=no --remote_header=Authorization=Bearer tok-123 --curses=no"}}


def test_bep_kept_without_secrets():
    secrets.register("Authorization=Bearer tok-123", "Bearer tok-123")
    out = "\n".join(acc.redact_bep_line(line)
                    for line in bep(SECRET_EVENT, STARTED_SECRET))
    assert "tok-123" not in out and "ghp_abc" not in out
    options = json.loads(out.splitlines()[0])["structuredCommandLine"]["sections"][0][
        "optionList"]["option"]
    assert options[0]["combinedForm"] == "--client_env=CACHE_AUTH_HEADER=***"
    assert options[1]["optionValue"] == "GITHUB_TOKEN=***"
    assert options[2]["optionValue"] == "HOME=/home/u"  # nothing else changes
    assert options[3]["combinedForm"] == "--remote_header=***"
    assert options[4]["combinedForm"] == "--repo_env=WHEEL_NAME=tensorflow"
    assert json.loads(out.splitlines()[1])["started"]["optionsDescription"] == (
        "--color=no --remote_header=*** --curses=no")


def test_redacting_a_line_that_is_not_json_still_masks_the_secrets():
    secrets.register("tok-secret")
    assert acc.redact_bep_line('{"cut": "tok-secret') == '{"cut": "***'


# -- the files beside the log ----------------------------------------------------------------------
def test_run_files_sit_beside_the_log_and_keep_only_the_masked_bep(tmp_path):
    import gzip

    from tfbuild.building.account_files import RunFiles

    files = RunFiles.beside(tmp_path / "build-20260101-120000.log")
    assert files.bep.name == "build-20260101-120000.bep.json"
    assert files.profile.name == "build-20260101-120000.profile.json.gz"
    options = files.bazel_options()
    assert options == (f"--build_event_json_file={files.raw_bep}", f"--profile={files.profile}",
                       f"--execution_log_binary_file={files.raw_execution_log}")
    assert files.execution_log.name == "build-20260101-120000.exec.json.gz"
    assert RunFiles.beside(files.log, execution_log=False).bazel_options() == options[:2]
    assert files.raw_dir.stat().st_mode & 0o777 == 0o700
    files.raw_bep.write_text("\n".join(bep(STARTED_SECRET, FINISHED,
                                           tool_logs("1 process: 1 linux-sandbox."))) + "\n")
    with gzip.open(files.profile, "wt") as handle:
        json.dump(PROFILE, handle)
    secrets.register("Authorization=Bearer tok-123")
    files.keep_bep()
    assert not files.raw_dir.exists()
    assert "tok-123" not in files.bep.read_text()
    facts, profile, problems = files.read()
    assert problems == [] and facts.process_stats == "1 process: 1 linux-sandbox."
    assert len(profile.actions) == 4


def test_missing_run_files_are_problems_not_errors(tmp_path):
    from tfbuild.building.account_files import RunFiles

    files = RunFiles.beside(tmp_path / "build-x.log")
    files.keep_bep()  # Bazel wrote nothing (e.g. a --bazel-opt overrode the flag)
    assert not files.bep.exists()
    files.profile.write_bytes(b"not gzip")
    facts, profile, problems = files.read()
    assert facts is None and profile is None
    assert "no build event file" in problems[0] and "no readable profile" in problems[1]


def test_run_options_come_first_and_are_not_recorded():
    import dataclasses

    from tfbuild.building.command import BuildRequest, plan_command
    from tfbuild.settings import resolve

    settings = resolve("cpu", env={}).settings
    cmd = plan_command(settings, BuildRequest(bazel_opts=("--profile=/mine.gz",)),
                       bazel="bazel", jobs=2, env={})
    run = dataclasses.replace(cmd, run_options=("--profile=/state/p.gz",))
    argv = run.argv()
    assert argv.index("--profile=/state/p.gz") == argv.index("build") + 1
    assert argv.index("--profile=/mine.gz") > argv.index("--profile=/state/p.gz")  # user wins
    assert run.argv(with_secrets=False, with_run_options=False) == cmd.argv(with_secrets=False)


# Bazel 4.2.3's events, as written here: the workspace event names the exec root, each
# configuration its make variables, each completed target its configuration's id.
WORKSPACE = {"id": {"workspace": {}}, "workspaceInfo": {
    "localExecRoot": "/o/base/execroot/org_tensorflow"}}


def configuration(config_id: str, bindir: str) -> dict:
    return {"id": {"configuration": {"id": config_id}}, "configuration": {
        "mnemonic": bindir.split("/")[1], "makeVariable": {"BINDIR": bindir}}}


def completed(label: str, config_id: str) -> dict:
    return {"id": {"targetCompleted": {"label": label, "configuration": {"id": config_id}}},
            "completed": {"success": True}}


def test_the_outputs_directory_comes_from_the_targets_configuration():
    facts = acc.read_bep(bep(STARTED, WORKSPACE, configuration("h", "bazel-out/host/bin"),
                             configuration("t", "bazel-out/k8-opt/bin"),
                             completed("//tensorflow:libtensorflow.so", "t"),
                             completed("//tensorflow/tools/pip_package:wheel", "t"), FINISHED))
    assert facts.bazel_bin == "/o/base/execroot/org_tensorflow/bazel-out/k8-opt/bin"


@pytest.mark.parametrize("events", [
    [WORKSPACE, configuration("a", "bazel-out/k8-opt/bin"),
     configuration("b", "bazel-out/k8-dbg/bin"), completed("//x:a", "a"), completed("//x:b", "b")],
    [configuration("t", "bazel-out/k8-opt/bin"), completed("//x:a", "t")],  # no exec root
    [WORKSPACE, completed("//x:a", "t")],  # no configuration event
])
def test_no_outputs_directory_when_the_events_do_not_say_one(events):
    assert acc.read_bep(bep(STARTED, *events, FINISHED)).bazel_bin is None


def test_fetch_events_are_read_in_order():
    """Bazel 4.2.3 writes one `fetch` event per download (seen in this suite's build events:
    {"id":{"fetch":{"url":...}},"fetch":{"success":true}}); a progress event that only names a
    fetch as a child is not one."""
    from tfbuild.building.account import read_bep

    lines = [
        '{"id":{"progress":{"opaqueCount":2}},"children":[{"fetch":{"url":"http://m/a.tgz"}}]}',
        '{"id":{"fetch":{"url":"http://m/a.tgz"}},"fetch":{}}',
        '{"id":{"fetch":{"url":"http://o/a.tgz"}},"fetch":{"success":true}}',
    ]
    assert read_bep(lines).fetches == (("http://m/a.tgz", False), ("http://o/a.tgz", True))
