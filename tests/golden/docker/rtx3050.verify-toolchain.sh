#!/usr/bin/env bash
# Rendered by tfbuild from profile rtx3050: fails unless every tool is the version the
# profile pins. Run at the end of the image build (and by tfbuild's tests on a host).
set -uo pipefail
CLANG=${CLANG:-/usr/lib/llvm-17/bin/clang}
LLD=${LLD:-/usr/lib/llvm-17/bin/ld.lld}
GCC=${GCC:-gcc-12}
PYTHON=${PYTHON:-python3.10}
BAZELISK=${BAZELISK:-/usr/local/bin/bazelisk}
CUDA=${CUDA:-/usr/local/cuda-12.4}
CUDNN=${CUDNN:-/opt/cudnn-9.10.2}
failed=0

expect() {  # what, wanted, found
  if [ "$2" = "$3" ]; then
    echo "ok   $1: $3"
  else
    echo "FAIL $1: wanted $2, found ${3:-nothing}"
    failed=1
  fi
}

expect "clang major" "17" "$("$CLANG" --version 2>/dev/null | sed -n 's/.*clang version \([0-9]*\)\..*/\1/p' | head -1)"
expect "ld.lld" "present" "$([ -x "$LLD" ] && echo present)"
expect "gcc major" "12" "$("$GCC" -dumpversion 2>/dev/null | cut -d. -f1)"
expect "python" "3.10" "$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)"
expect "patchelf" "present" "$(command -v patchelf >/dev/null && echo present)"
expect "bazelisk sha256" "fd8fdff418a1758887520fa42da7e6ae39aefc788cf5e7f7bb8db6934d279fc4" "$(sha256sum "$BAZELISK" 2>/dev/null | cut -d' ' -f1)"
expect "CUDA (ptxas release)" "12.4" "$("$CUDA/bin/ptxas" --version 2>/dev/null | sed -n 's/.*release \([0-9.]*\),.*/\1/p')"
expect "CUDA lib/libcudart.so.12" "present" "$(ls "$CUDA"/lib/libcudart.so.* >/dev/null 2>&1 && echo present)"
expect "cuDNN" "9.10.2" "$(awk '/#define CUDNN_(MAJOR|MINOR|PATCHLEVEL) /{v=v (v?".":"") $3} END{print v}' "$CUDNN/include/cudnn_version.h" 2>/dev/null)"
exit $failed
