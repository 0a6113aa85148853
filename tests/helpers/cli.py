"""Running tfbuild's real command line (invoke + tasks.py) the way a user does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INVOKE = str(Path(sys.executable).parent / "invoke")
# Tests talk to loopback only: any request to another host goes to a proxy address where
# nothing listens (refused at once, no name lookup of the host, no traffic leaves the machine).
# A test may set its own values (the proxy tests do).
DEAD_PROXY = "http://127.0.0.1:9"
LOOPBACK_ONLY = {"HTTPS_PROXY": DEAD_PROXY, "HTTP_PROXY": DEAD_PROXY, "https_proxy": DEAD_PROXY,
                 "http_proxy": DEAD_PROXY, "NO_PROXY": "127.0.0.1,localhost",
                 "no_proxy": "127.0.0.1,localhost", "ALL_PROXY": None, "all_proxy": None}


def invoke(args: Sequence[str], *, env: Mapping[str, str | None] | None = None, cwd: Path = ROOT,
           timeout: float = 600) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("TFBUILD_")}
    full_env.update(env or {})
    full_env.setdefault("TFBUILD_COLOR", "0")
    full_env.update({k: v for k, v in LOOPBACK_ONLY.items() if k not in (env or {})})
    full_env = {k: v for k, v in full_env.items() if v is not None}  # None: unset it
    return subprocess.run([INVOKE, "--search-root", str(ROOT), *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def doctor_json(args: Sequence[str], *, network: bool = False, **kwargs) -> tuple[int, dict]:
    """doctor --json, with --offline unless the test points the network checks at loopback."""
    proc = invoke(["doctor", "--json", *args, *([] if network else ["--offline"])], **kwargs)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def checks_by_id(document: dict) -> dict[str, dict]:
    return {c["id"]: c for c in document["checks"]}
