"""What `clang -print-prog-name=ld.lld` answers, read (pure)."""

import pytest

from tfbuild.discovery.toolchain import lld_from_clang

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("answer, expected", [
    ("/usr/lib/llvm-16/bin/ld.lld\n", "/usr/lib/llvm-16/bin/ld.lld"),
    ("ld.lld\n", None),  # clang echoes the bare name when it finds none
    ("", None),
    ("warning: unused\n/opt/llvm/bin/ld.lld\n", "/opt/llvm/bin/ld.lld"),
])
def test_lld_from_clang(answer, expected):
    assert lld_from_clang(answer) == expected
