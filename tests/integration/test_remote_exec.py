"""Remote execution against a real executor: Bazel's own REAPI remote worker on loopback (built
by scripts/test_assets.py from Debian's bazel-bootstrap-source). The TF-shaped tree builds with
every action on the worker and gives the artifacts a local build gives; a toolchain directory the
worker lacks is named with its key, and remote.local_fallback rescues it; a dead executor is
refused before Bazel builds anything; doctor asks the executor for its capabilities."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.helpers.bazel import shutdown
from tests.helpers.cli import checks_by_id, doctor_json, invoke
from tests.helpers.profiles import local_bazel_profile
from tests.helpers.remote_worker import RemoteWorker, free_port
from tfbuild import archive_diff

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "tfshaped"


@pytest.fixture
def tree(tmp_path):
    made = []

    def make(name: str) -> dict:
        base = tmp_path / name
        source = base / "tensorflow"
        shutil.copytree(FIXTURE, source, symlinks=True)
        made.append((source, base / "root"))
        return {"base": base, "source": source, "root": base / "root",
                "env": {"TFBUILD_STATE_DIR": str(base / "state")}}
    yield make
    for source, root in made:
        shutdown(source, root)


def profile(ws: dict, remote: str = "") -> str:
    # the copied tree has no git HEAD: the wheel's time comes from the profile, else two builds'
    # wheels would differ by their build times
    return local_bazel_profile(ws["base"] / "p.toml", output_root=ws["root"],
                               dist=ws["base"] / "dist",
                               extra=f"[tensorflow]\nsource_date_epoch = 1741219200\n"
                                     f"[remote]\n{remote}")


def build(ws: dict, prof: str, *args: str):
    proc = invoke(["build", "--profile", prof, "--source", str(ws["source"]), *args],
                  env=ws["env"])
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def sums(ws: dict) -> dict[str, str]:
    text = (ws["base"] / "dist" / "p" / "SHA256SUMS").read_text()
    return {name: digest for digest, name in (line.split("  ") for line in text.splitlines())}


def test_every_action_runs_on_the_executor_and_the_artifacts_equal_a_local_build(tree, tmp_path):
    local, remote = tree("local"), tree("remote")
    assert build(local, profile(local)).returncode == 0
    with RemoteWorker(tmp_path / "worker") as worker:
        log = remote["base"] / "exec.json"
        proc = build(remote, profile(remote, f'executor = "{worker.url}"\n'
                                         'download_outputs = "toplevel"\n'),
                     f"--bazel-opt=--execution_log_json_file={log}")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    manifest = json.loads((remote["base"] / "dist" / "p" / "manifest.json").read_text())
    actions = manifest["run"]["account"]["actions"]
    assert actions["executed_remotely"] == 7 and actions["executed_locally"] == 0, actions
    assert f"--remote_executor={worker.url}" in manifest["bazel"]["argv"]
    assert "--remote_download_toplevel" in manifest["bazel"]["argv"]
    assert "--jobs=50" in manifest["bazel"]["argv"]
    # Bazel's own execution log: every spawn ran on the worker
    spawns = [json.loads(chunk) for chunk in
              log.read_text().replace("}{", "}\n\x00{").split("\n\x00")]
    assert spawns and {s["runner"] for s in spawns} == {"remote"}, {s["runner"] for s in spawns}
    # the same bytes as a local build of the same profile, but for the wheel's modes: Bazel
    # sends every input as executable and the worker materializes it so (0744), and the wheel
    # step copies its inputs' modes into the wheel, as TF's build_pip_package does; names,
    # times and bytes of every member are equal
    remote_sums, local_sums = sums(remote), sums(local)
    wheel = "tensorflow-2.18.1-cp311-cp311-linux_x86_64.whl"
    assert {k: v for k, v in remote_sums.items() if k != wheel} == \
        {k: v for k, v in local_sums.items() if k != wheel}
    diffs = archive_diff.compare(local["base"] / "dist" / "p" / wheel,
                                 remote["base"] / "dist" / "p" / wheel)
    assert {d.how for d in diffs} <= {("mode",)}, [d.text for d in diffs]
    assert {d.b.mode & 0o777 for d in diffs} <= {0o744}, [d.text for d in diffs]
    assert "7 executed remotely" in proc.stdout


def test_a_path_the_worker_lacks_is_named_and_local_fallback_rescues_it(tree, tmp_path):
    """A worker in its own mount namespace without /usr/lib/llvm-16 (the compiler the rc names):
    the compile fails remotely, the error names the program and the key; with
    remote.local_fallback the build succeeds, the compiles and links run here."""
    ws = tree("ws")
    with RemoteWorker(tmp_path / "worker", hidden=[Path("/usr/lib/llvm-16")]) as worker:
        failed = build(ws, profile(ws, f'executor = "{worker.url}"\n'))
        assert failed.returncode == 6, failed.stdout[-2000:] + failed.stderr[-2000:]
        assert ("a remote worker cannot run /usr/lib/llvm-16/bin/clang: the workers do not have "
                "that path") in failed.stderr
        assert "remote.local_fallback = true" in failed.stderr
        assert "toolchain.clang_path" in failed.stderr and "toolchain.clang_major = 16" in \
            failed.stderr
        rescued = build(ws, profile(ws, f'executor = "{worker.url}"\nlocal_fallback = true\n'))
    assert rescued.returncode == 0, rescued.stdout[-3000:] + rescued.stderr[-3000:]
    actions = json.loads((ws["base"] / "dist" / "p" / "manifest.json").read_text())[
        "run"]["account"]["actions"]
    assert actions["executed_locally"] == 4 and actions["executed_remotely"] == 3, actions


def test_a_dead_executor_is_refused_before_bazel_builds(tree):
    ws = tree("ws")
    url = f"grpc://127.0.0.1:{free_port()}"
    proc = build(ws, profile(ws, f'executor = "{url}"\n'))
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert f"remote.executor = {url}: the server does not answer" in proc.stderr
    assert "start the executor or fix remote.executor" in proc.stderr
    assert "starting Bazel" not in proc.stdout and not ws["root"].exists()


def test_doctor_asks_the_executor_for_its_capabilities(tmp_path):
    with RemoteWorker(tmp_path / "worker") as worker:
        prof = tmp_path / "x.toml"
        prof.write_text(f'extends = "cpu"\n[remote]\nexecutor = "{worker.url}"\n'
                        '[remote.exec_properties]\nOSFamily = "linux"\n')
        _, doc = doctor_json(["--profile", str(prof)], network=True)
    row = checks_by_id(doc)["remote.executor"]
    assert row["status"] == "ok", row
    assert "execution enabled, digest SHA256" in row["found"]
    assert "OSFamily=linux" in row["expected"]
    dead = tmp_path / "dead.toml"
    dead.write_text(f'extends = "cpu"\n[remote]\nexecutor = "grpc://127.0.0.1:{free_port()}"\n')
    _, doc = doctor_json(["--profile", str(dead)], network=True)
    row = checks_by_id(doc)["remote.executor"]
    assert row["status"] == "fail" and row["blocking"] and "Connection refused" in row["found"]


def test_a_platform_the_executor_rejects_is_named_with_its_key(tree, tmp_path):
    ws = tree("ws")
    with RemoteWorker(tmp_path / "worker") as worker:
        proc = build(ws, profile(ws, f'executor = "{worker.url}"\n[remote.exec_properties]\n'
                                     'container-image = "registry.example/tf:1"\n'))
    assert proc.returncode == 6, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "the executor refused the action's platform (remote.exec_properties)" in proc.stderr
    assert "platform: container-image" in proc.stderr  # the executor's own words
