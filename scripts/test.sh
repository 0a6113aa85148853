#!/usr/bin/env bash
# Sets up everything the tests need on a fresh Debian 12 machine, then runs pytest.
#   bash scripts/test.sh            # the whole suite
#   bash scripts/test.sh -m unit    # the fast tier only (after a first full setup)
#   bash scripts/test.sh -m "not container"   # all but the image tests
# Debian packages: Bazel (bazel-bootstrap), clang 16 + lld, gcc-12, patchelf, nginx (the HTTP
# cache server the build tests start on loopback), netty-tcnative (TLS gRPC for Debian's Bazel),
# Chromium (the HTML report is rendered headless in the tests); the container engines the image
# tests start themselves (podman with runc and catatonit, the Docker Engine with containerd and
# tini, Debian's docker-registry) and debootstrap, which makes their Debian base image offline.
# Python packages go to .venv (with the test extra: BuildGrid's `bgd`, the gRPC cache the tests
# start on loopback); the real NVIDIA and TensorFlow files the integration tests use go to
# .cache/test-assets.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(bazel-bootstrap clang-16 lld-16 gcc-12 g++-12 patchelf nginx-light git python3-venv
              libnetty-tcnative-jni openjdk-17-jdk-headless python3-setuptools python3-wheel
              chromium podman runc catatonit docker.io containerd tini docker-registry debootstrap)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  echo "+ apt-get install ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm fetches bazelisk's published binaries (to check tfbuild's pinned sha256).
if ! command -v npm >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends npm >/dev/null
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "+ $PYTHON -m venv .venv"
  "$PYTHON" -m venv .venv
fi
echo "+ .venv/bin/pip install -e .[test]"
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
# The notes' machine runs Python 3.10: tfbuild is installed there too (README command 1 with
# python3.10), for tests/integration/test_python310.py. BuildGrid needs 3.11, so not there.
# A pyenv shim answers `command -v python3.10` even when 3.10 is not selected: ask it to run.
find_python310() {
  local candidate
  for candidate in "${PYTHON310:-}" python3.10 "$(pyenv root 2>/dev/null)"/versions/3.10*/bin/python3.10; do
    [ -n "$candidate" ] && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' \
      >/dev/null 2>&1 && { echo "$candidate"; return; }
  done
}
PYTHON310=$(find_python310)
if [ -n "$PYTHON310" ]; then
  [ -x .venv310/bin/python ] || { echo "+ $PYTHON310 -m venv .venv310"; "$PYTHON310" -m venv .venv310; }
  echo "+ .venv310/bin/pip install -e .[test]"
  .venv310/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
else
  echo "warning: no Python 3.10 found (python3.10, pyenv): the Python 3.10 tests will fail;" \
       "set PYTHON310 to one" >&2
fi
.venv/bin/python scripts/test_assets.py

# The whole suite (no selection, only reporting flags such as -q or --durations=N): the image
# tests (`-m container`: minutes spent mostly waiting on apt downloads and dpkg while images
# build) run beside the rest in a second pytest, with their own temp dir and a lower priority, so
# the suite takes about as long as the main run; their report follows the main one. Any other arguments run
# one pytest as given (`-m unit`, a path, -k ...).
whole_suite=1
for arg in "$@"; do
  case "$arg" in
    -q|-qq|-v|-vv|-ra|--durations=*) ;;
    *) whole_suite=0 ;;
  esac
done
if [ "$whole_suite" = 1 ]; then
  mkdir -p .cache
  log=.cache/container-tests.log
  # at a lower CPU and I/O priority (the engines they start inherit it): the main run's Bazel
  # builds come first, the image builds take what is left
  nice -n 15 ionice -c 2 -n 7 \
    .venv/bin/python -m pytest -m container --basetemp=/tmp/tfbuild-container-tests "$@" >"$log" 2>&1 &
  images=$!
  status=0
  .venv/bin/python -m pytest -m "not container" "$@" || status=$?
  image_status=0
  wait "$images" || image_status=$?
  echo "==================== image tests (-m container), run beside the others ===================="
  cat "$log"
  # pytest's 5 (nothing collected) is not a failure of the other run
  if [ "$status" = 0 ] && [ "$image_status" != 0 ] && [ "$image_status" != 5 ]; then
    status=$image_status
  fi
  exit "$status"
fi
exec .venv/bin/python -m pytest "$@"
