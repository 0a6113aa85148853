#!/usr/bin/env bash
# Rendered by tfbuild from profile cpu-trixie: fails unless every tool is the version the
# profile pins. Run at the end of the image build (and by tfbuild's tests on a host).
set -uo pipefail
CLANG=${CLANG:-/usr/lib/llvm-17/bin/clang}
LLD=${LLD:-/usr/lib/llvm-17/bin/ld.lld}
GCC=${GCC:-gcc-12}
PYTHON=${PYTHON:-python3.13}
BAZEL=${BAZEL:-/usr/local/bin/bazel}
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
expect "python" "3.13" "$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)"
expect "patchelf" "present" "$(command -v patchelf >/dev/null && echo present)"
expect "bazel (the distro's)" "present" "$("$BAZEL" --version 2>/dev/null | grep -q '^bazel ' && echo present)"
exit $failed
