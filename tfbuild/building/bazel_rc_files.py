"""The system-wide Bazel rc files a build reads, for the manifest. tfbuild starts Bazel with
`--nohome_rc` (a user's ~/.bazelrc is ignored) but keeps the system rc: a distribution's Bazel
may need it (Debian's bazel-bootstrap sets `startup --install_base` in /etc/bazel/bazelrc), so it
is recorded instead: path and sha256 of each one present."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence

# Upstream Bazel's compiled-in system rc, and Debian's (which try-imports the upstream one).
SYSTEM_RC = ("/etc/bazel.bazelrc", "/etc/bazel/bazelrc")


def system_rc_files(candidates: Sequence[str] = SYSTEM_RC) -> list[dict[str, str]]:
    out = []
    for path in candidates:
        if os.path.isfile(path):
            with open(path, "rb") as f:
                out.append({"path": path, "sha256": hashlib.sha256(f.read()).hexdigest()})
    return out
