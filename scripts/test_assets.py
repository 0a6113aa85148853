"""Fetch the real files the integration tests use, once, into .cache/test-assets/.

- nvidia-site/: NVIDIA's CUDA 12.4 wheels installed as pip lays them out (nvidia/cuda_nvcc with
  a real ptxas, nvidia/cuda_runtime with libcudart.so.12, nvidia/cuda_cupti), plus cuDNN 9.10.2's
  headers and libcudnn.so.9 from its wheel (the 700 MB wheel is downloaded, only those files are
  kept).
- bazelisk/: bazelisk 1.25.0 (linux-amd64) from npm's @bazel/bazelisk, to check the pin.
- tf-wheel/: the tensorflow-cpu 2.18.1 wheel for this Python (its C API is in
  libtensorflow_cc.so.2, headers under tensorflow/include).
- tf-deps/: the wheels tensorflow-cpu 2.18.1 depends on, which the smoke tests serve as a pip
  index on loopback (so a smoke test installs nothing from the network).
- remote-worker/worker.jar: Bazel's own REAPI remote worker (src/tools/remote: Execution, CAS,
  ActionCache, ByteStream, Capabilities in one process), compiled from Debian's
  bazel-bootstrap-source (4.2.3) against Bazel's own A-server.jar, changed to listen on
  127.0.0.1 only (upstream binds every address). Recipe: ../shared/tf-2.18-facts.md.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tfbuild.runner import Runner  # noqa: E402

ASSETS = ROOT / ".cache" / "test-assets"
CUDA_WHEELS = ["nvidia-cuda-nvcc-cu12==12.4.131", "nvidia-cuda-runtime-cu12==12.4.127",
               "nvidia-cuda-cupti-cu12==12.4.127"]
CUDNN_WHEEL = "nvidia-cudnn-cu12==9.10.2.21"
CUDNN_KEEP = ("nvidia/cudnn/include/", "nvidia/cudnn/lib/libcudnn.so.9", "nvidia_cudnn_cu12-")
STAMP = "nvidia-site.done-v1"
TF_WHEEL = "tensorflow-cpu==2.18.1"


def pip(runner: Runner, *args: str) -> None:
    runner.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *args])


def nvidia_site(runner: Runner) -> None:
    site = ASSETS / "nvidia-site"
    if (ASSETS / STAMP).exists():
        return
    shutil.rmtree(site, ignore_errors=True)
    pip(runner, "install", "--no-deps", "--target", str(site), *CUDA_WHEELS)
    with tempfile.TemporaryDirectory(dir=ASSETS) as tmp:
        pip(runner, "download", "--no-deps", "-d", tmp, CUDNN_WHEEL)
        wheel = next(Path(tmp).glob("nvidia_cudnn_cu12-*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            for name in archive.namelist():
                if name.startswith(CUDNN_KEEP) and not name.endswith("/"):
                    archive.extract(name, site)
    (ASSETS / STAMP).write_text("\n".join(CUDA_WHEELS + [CUDNN_WHEEL]) + "\n")


def tf_wheel(runner: Runner) -> None:
    """The real TensorFlow 2.18.1 CPU wheel from PyPI, for the smoke-test tests."""
    target = ASSETS / "tf-wheel"
    if list(target.glob("tensorflow_cpu-2.18.1-*.whl")):
        return
    pip(runner, "download", "--no-deps", "--only-binary=:all:", "-d", str(target), TF_WHEEL)


def tf_deps(runner: Runner) -> None:
    """Every wheel the TF wheel pulls in (not the TF wheel itself: tf-wheel/ has it)."""
    target = ASSETS / "tf-deps"
    if (target / "done").exists():
        return
    with tempfile.TemporaryDirectory(dir=ASSETS) as tmp:
        pip(runner, "download", "--only-binary=:all:", "-d", tmp, TF_WHEEL)
        for wheel in Path(tmp).glob("tensorflow_cpu-*.whl"):
            wheel.unlink()
        shutil.rmtree(target, ignore_errors=True)
        shutil.move(tmp, target)
    target.chmod(0o755)
    (target / "done").write_text(TF_WHEEL + "\n")


def bazelisk(runner: Runner) -> None:
    """bazelisk 1.25.0 for linux-amd64 as npm publishes it, to check tfbuild's pinned sha256."""
    target = ASSETS / "bazelisk" / "bazelisk-linux_amd64"
    if target.exists():
        return
    with tempfile.TemporaryDirectory(dir=ASSETS) as tmp:
        runner.run(["npm", "pack", "--silent", "@bazel/bazelisk@1.25.0"], cwd=tmp)
        runner.run(["tar", "xzf", next(Path(tmp).glob("bazel-bazelisk-*.tgz")).name,
                    "package/bazelisk-linux_amd64"], cwd=tmp)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(Path(tmp) / "package" / "bazelisk-linux_amd64"), target)


WORKER_SOURCE = "usr/src/bazel-bootstrap/src/tools/remote/src/main/java"
BAZEL_SERVER_JAR = "/usr/share/bazel/A-server.jar"  # Debian's bazel-bootstrap: gRPC, REAPI stubs


def remote_worker(runner: Runner) -> None:
    target = ASSETS / "remote-worker" / "worker.jar"
    if target.exists():
        return
    with tempfile.TemporaryDirectory(dir=ASSETS) as tmp:
        work = Path(tmp)
        runner.run(["apt-get", "download", "bazel-bootstrap-source"], cwd=work)
        deb = next(work.glob("bazel-bootstrap-source_*.deb"))
        runner.run(["dpkg-deb", "-x", str(deb), str(work / "src")])
        sources = work / "src" / WORKER_SOURCE
        main = sources / "com/google/devtools/build/remote/worker/RemoteWorker.java"
        text = main.read_text()
        bound = "NettyServerBuilder.forPort(workerOptions.listenPort)"
        if bound not in text:
            raise SystemExit(f"{main}: {bound} not found; the loopback change needs updating")
        main.write_text(text.replace(bound, "NettyServerBuilder.forAddress(new java.net."
                                     "InetSocketAddress(\"127.0.0.1\", workerOptions.listenPort))"))
        classes = work / "classes"
        classes.mkdir()
        java_files = sorted(str(p) for p in sources.rglob("*.java"))
        runner.run(["javac", "-nowarn", "-d", str(classes), "-cp", BAZEL_SERVER_JAR,
                    *java_files], timeout=600)
        target.parent.mkdir(parents=True, exist_ok=True)
        runner.run(["jar", "cf", str(work / "worker.jar"), "-C", str(classes), "."])
        shutil.move(str(work / "worker.jar"), target)


def main() -> None:
    ASSETS.mkdir(parents=True, exist_ok=True)
    runner = Runner(echo=True)
    nvidia_site(runner)
    tf_wheel(runner)
    tf_deps(runner)
    bazelisk(runner)
    remote_worker(runner)


if __name__ == "__main__":
    main()
