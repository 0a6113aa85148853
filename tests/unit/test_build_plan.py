import io
import json

import pytest

from tfbuild.building.command import BuildRequest, fetch_rules_python, plan_command
from tfbuild.building.manifest import diff, flatten
from tfbuild.building.progress import LogPipeline, parse_processes
from tfbuild.errors import ConfigError
from tfbuild.settings import resolve


def plan(profile="rtx3050", overrides=(), request=BuildRequest(), env=None):
    settings = resolve(profile, env={}, overrides=overrides).settings
    return plan_command(settings, request, bazel="/usr/bin/bazelisk", jobs=16, env=env or {})


def test_the_notes_command_shape():
    cmd = plan()
    argv = cmd.argv()
    assert argv[:6] == ["/usr/bin/bazelisk",
                        "--output_user_root=/media/workspace/github/tensorflow/OutputUserRoot",
                        "--nohome_rc", "--host_jvm_args=-Xmx6g", "build",
                        "--local_cpu_resources=16"]
    assert "--verbose_failures" in argv
    assert argv[-3:] == ["//tensorflow:libtensorflow_framework.so", "//tensorflow:libtensorflow.so",
                         "//tensorflow/tools/pip_package:wheel"]
    for opt in ("--repo_env=USE_PYWRAP_RULES=1", "--repo_env=WHEEL_NAME=tensorflow",
                "--config=cuda_wheel"):
        assert opt in argv


def test_the_users_bazelrc_is_not_read_and_the_system_rc_is_recorded(tmp_path):
    from tfbuild.building.bazel_rc_files import system_rc_files

    assert "--nohome_rc" in plan().startup and "--nosystem_rc" not in plan().startup
    (tmp_path / "bazelrc").write_text("startup --install_base=/usr/share/bazel\n")
    assert system_rc_files([str(tmp_path / "absent"), str(tmp_path / "bazelrc")]) == [
        {"path": str(tmp_path / "bazelrc"),
         "sha256": "a1de2d2adbc5b821e745fd1e1fd0a3dea82a7463370fe14c7f40423f0fa6011e"}]


def test_pass_through_options_come_last_before_targets():
    cmd = plan(request=BuildRequest(bazel_opts=("--config=cuda_wheel", "--jobs=4"),
                                    keep_going=True))
    assert list(cmd.options[-3:]) == ["--keep_going", "--config=cuda_wheel", "--jobs=4"]


def test_startup_options_do_not_depend_on_the_request():
    a = plan(request=BuildRequest(jobs=3, bazel_opts=("--copt=-O1",), remote_cache="http://c"))
    assert a.startup == plan().startup


def test_remote_cache_executor_and_secret_header():
    env = {"CACHE_TOKEN": "Authorization: Bearer abc"}
    cmd = plan(overrides=["remote.executor=grpcs://rbe.example:443", "remote.header_env=CACHE_TOKEN",
                          "remote.instance_name=main", "remote.upload_local_results=false",
                          "remote.workers_have_host_paths=true"],
               request=BuildRequest(remote_cache="grpc://cache.example:9092"), env=env)
    options = cmd.options
    assert "--remote_cache=grpc://cache.example:9092" in options
    assert "--remote_executor=grpcs://rbe.example:443" in options
    assert "--remote_instance_name=main" in options and "--noremote_upload_local_results" in options
    assert "abc" not in " ".join(cmd.argv(with_secrets=False))
    assert "--remote_header=Authorization=Bearer abc" in cmd.argv()
    shell = cmd.shell(__import__("pathlib").Path("/src"), {"PATH": "/usr/bin"})
    assert "abc" not in shell and "$CACHE_TOKEN" in shell


@pytest.mark.parametrize("override, env, message", [
    ("remote.cache=ftp://cache", {}, "not a Bazel remote URL"),
    ("remote.header_env=TOKEN", {}, "TOKEN, which is not set"),
    ("remote.header_env=TOKEN", {"TOKEN": "no colon"}, "not of the form"),
])
def test_bad_remote_settings(override, env, message):
    with pytest.raises(ConfigError, match=message):
        plan(overrides=[override], env=env)


def test_an_executor_gets_a_remote_spawn_strategy_that_pass_through_can_override():
    """TF's .bazelrc sets `build --spawn_strategy=standalone`: without a strategy on the command
    line every action would run locally next to a remote executor."""
    cmd = plan("cpu", overrides=["remote.executor=grpc://rbe.example:8980"],
               request=BuildRequest(bazel_opts=("--spawn_strategy=local",)))
    options = list(cmd.options)
    strategy = options.index("--spawn_strategy=remote,worker,sandboxed,local")
    assert strategy > options.index("--remote_executor=grpc://rbe.example:8980")
    assert options.index("--spawn_strategy=local") > strategy  # the user's word is last
    assert not any(o.startswith("--spawn_strategy") for o in plan("cpu").options)


def test_an_executor_with_host_path_toolchains_is_refused():
    with pytest.raises(ConfigError) as exc:
        plan("rtx3050", overrides=["remote.executor=grpc://rbe.example:8980"])
    message = str(exc.value)
    for key in ("remote.executor", "toolchain.clang_prefix", "/media/workspace/clang17/instdir",
                "cuda.local_cuda_path", "cuda.local_cudnn_path"):
        assert key in message
    assert "remote.workers_have_host_paths" in exc.value.hint
    allowed = plan("rtx3050", overrides=["remote.executor=grpc://rbe.example:8980",
                                         "remote.workers_have_host_paths=true"])
    assert "--remote_executor=grpc://rbe.example:8980" in allowed.options


@pytest.mark.parametrize("overrides, request_, named", [
    (["remote.cache=grpc://cache.example:9092"], BuildRequest(), "remote.cache"),
    ([], BuildRequest(remote_cache="http://127.0.0.1:8080"), "--remote-cache"),
    (["remote.executor=grpc://rbe.example:8980"], BuildRequest(), "remote.executor"),
])
def test_tf_public_cache_excludes_other_caches(overrides, request_, named):
    """--config=tf_public_cache sets --remote_cache after the user's: it would replace them."""
    with pytest.raises(ConfigError) as exc:
        plan("cpu", overrides=["remote.tf_public_cache=true", *overrides], request=request_)
    assert "remote.tf_public_cache" in str(exc.value) and named in str(exc.value)
    alone = plan("cpu", overrides=["remote.tf_public_cache=true"])
    assert "--config=tf_public_cache" in alone.options


def test_rules_python_fetch_is_the_build_itself_with_nobuild():
    """`query` reads no `build:` configs or `build --repo_env` lines: the fetch is a `build`
    with every option of the real build (same server, same repository environment)."""
    cmd = plan(overrides=["remote.cache=http://127.0.0.1:9", "remote.header_env=TOKEN"],
               env={"TOKEN": "Authorization: Bearer abc"})
    fetch = fetch_rules_python(cmd)
    argv = fetch.argv()
    assert argv[: 2 + len(cmd.startup)] == [cmd.bazel, *cmd.startup, "build"]
    assert list(fetch.options) == [*cmd.options, "--nobuild"]
    assert "--config=cuda_wheel" in fetch.options
    assert argv[-1] == "@rules_python//python/private/pypi/whl_installer:wheel_installer.py"
    assert "--remote_header=Authorization=Bearer abc" in argv
    assert "abc" not in " ".join(fetch.argv(with_secrets=False))


def test_pipeline_reads_progress_and_bazel_summary():
    log = io.StringIO()
    seen = []
    pipe = LogPipeline(log, on_progress=lambda s: seen.append((s.done, s.total)),
                       mask=lambda line: line.replace("s3cret", "***"))
    for line in ["Starting local Bazel server and connecting to it...\n",
                 "INFO: Build option --copt has changed, discarding analysis cache.\n",
                 "[1,024 / 2,048] Compiling tensorflow/core/kernels/conv_ops.cc; 12s local\n",
                 "token s3cret\n",
                 "INFO: 7 processes: 3 remote cache hit, 1 internal, 3 linux-sandbox.\n",
                 "INFO: Build completed successfully, 7 total actions\n"]:
        pipe.feed(line)
    s = pipe.summary
    assert seen == [(1024, 2048)] and s.action.startswith("Compiling tensorflow/core")
    assert s.server_started and s.analysis_discarded and s.succeeded
    assert s.process_kinds == {"remote cache hit": 3, "internal": 1, "linux-sandbox": 3}
    assert s.executed == 3 and s.remote_cache_hits == 3
    assert "s3cret" not in log.getvalue() and pipe.lines == 6


def test_parse_processes():
    assert parse_processes("1 internal") == {"internal": 1}
    assert parse_processes("2 disk cache hit, 1 internal") == {"disk cache hit": 2, "internal": 1}


def test_manifest_diff_groups_and_ignores_the_run():
    a = {"toolchain": {"clang": {"version": "17.0.6"}}, "bazel": {"argv": ["b", "--jobs=1"]},
         "artifacts": [{"name": "x.whl", "sha256": "aa"}], "run": {"finished": "1"}}
    b = json.loads(json.dumps(a))
    b["toolchain"]["clang"]["version"] = "16.0.6"
    b["artifacts"][0]["sha256"] = "bb"
    b["run"]["finished"] = "2"
    rows = {key: group for group, key, _, _ in diff(a, b)}
    assert rows == {"toolchain.clang.version": "toolchain", "artifacts.x.whl.sha256": "artifacts"}
    assert "run.finished" in {k for _, k, _, _ in diff(a, b, include_run=True)}
    assert flatten({"artifacts": [{"name": "x", "sha256": "1"}]}) == {"artifacts.x.name": "x",
                                                                       "artifacts.x.sha256": "1"}


def test_an_error_far_from_the_end_is_still_diagnosed():
    from tfbuild.building.diagnose import diagnose

    pipe = LogPipeline(io.StringIO())
    pipe.feed("ERROR: /src/tensorflow/core/kernels/BUILD:10:1: Compiling conv_ops.cc failed\n")
    pipe.feed("gcc: fatal error: Killed signal terminated program cc1plus\n")
    for i in range(5000):  # --keep_going: the build goes on long after the failure
        pipe.feed(f"[{i} / 9000] Compiling tensorflow/core/kernels/op_{i}.cc\n")
    assert [d.signature.id for d in diagnose(pipe.diagnosis_lines())] == ["oom-killed"]


