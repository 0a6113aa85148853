"""TLS for gRPC in Debian's Bazel: netty-tcnative from Debian's `libnetty-tcnative-jni`.

Debian's `bazel-bootstrap` 4.2.3 embeds netty 4.1.48 and the netty-tcnative 2.0.28 classes but
not their native library, and its JDK TLS provider has no ALPN: every `grpcs://` remote crashes
its server (`JDK provider does not support ALPN protocol`). Debian's `libnetty-tcnative-jni`
(the same 2.0.28) ships the library as `libnetty-tcnative.so`; netty loads it only under the
name `libnetty_tcnative.so`, as a real file (it checks the path it was loaded from, so a symlink
to the Debian name is refused), from the server JVM's `java.library.path`. Measured: with a copy
so named on that path, Debian's Bazel talks TLS to BuildGrid and gets remote cache hits.
"""

from __future__ import annotations

import glob

DEBIAN_LIBRARY_GLOB = "/usr/lib/*/jni/libnetty-tcnative.so"
NETTY_NAME = "libnetty_tcnative.so"
DEBIAN_BAZEL_LIBRARY_PATH = "/usr/share/bazel"  # the java.library.path Debian's Bazel sets
PACKAGE = "libnetty-tcnative-jni"


def debian_tcnative() -> str:
    """The installed library, or "" when the package is not installed."""
    found = sorted(glob.glob(DEBIAN_LIBRARY_GLOB))
    return found[0] if found else ""
