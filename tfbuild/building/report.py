"""`invoke report DIST [--against OTHER]`: a build's account as one self-contained HTML page,
written beside its manifest (`dist/<profile>/report.html`).

Read from what the build kept and its manifest names: the account (action counts, times, the
slowest actions), Bazel's JSON trace profile (the timeline; its sha256, recorded by the build,
verified before it is read) and, with `--against`, the miss causes `invoke explain` finds
between the other build (A) and this one (B). The next `invoke build` of the profile replaces
dist/<profile>/ and the page with it, so a page never outlives its build.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from tfbuild import console, report_html
from tfbuild.building import explain as explain_mod
from tfbuild.building import manifest as manifest_mod
from tfbuild.errors import ConfigError
from tfbuild.files import atomic_write, sha256_file

PAGE = "report.html"


def _profile(files: dict) -> tuple[object | None, str]:
    """The profile's JSON document, or None and why not."""
    path = Path(str(files.get("profile", "")))
    if not files.get("profile") or not path.is_file():
        return None, f"the build's profile is gone ({path}): rotated away with its logs"
    if files.get("profile_sha256") and sha256_file(path) != files["profile_sha256"]:
        return None, f"{path} is not the profile the build kept (its sha256 differs)"
    try:
        with gzip.open(path, "rt", encoding="utf-8", errors="replace") as handle:
            return json.load(handle), ""
    except (OSError, EOFError, ValueError) as exc:
        return None, f"{path} cannot be read: {exc}"


def report(dist: str, *, against: str | None = None, output: str | None = None) -> int:
    directory = Path(dist).expanduser()
    if not directory.is_dir():
        raise ConfigError(f"report: {dist} is not a directory",
                          hint="give the dist/<profile> directory of an `invoke build`")
    manifest = manifest_mod.load(directory)
    account = (manifest.get("run") or {}).get("account") or {}
    document, problem = _profile(account.get("files") or {})
    if problem:
        console.note(f"note: {problem}; the page has no timeline")
    line = report_html.timeline(document) if document is not None else report_html.timeline([])
    causes: list[dict] = []
    if against:
        _, _, _, causes = explain_mod.compare_builds(against, str(directory))
    tf = manifest.get("tensorflow") or {}
    run = manifest.get("run") or {}
    bazel = (manifest.get("toolchain") or {}).get("bazel") or {}
    facts = [("profile", (manifest.get("profile") or {}).get("name", "?")),
             ("TensorFlow", f"{tf.get('version', '?')} {str(tf.get('git_commit') or '')[:12]}"),
             ("finished", str(run.get("finished", "?"))), ("host", str(run.get("host", "?"))),
             ("Bazel", str(bazel.get("version", "?"))), ("log", str(run.get("log", "?")))]
    page = report_html.render(
        title=f"tfbuild: the build of {facts[0][1]}", facts=facts, account=account, line=line,
        causes=causes, compared_with=against or "")
    target = Path(output).expanduser() if output else directory / PAGE
    if target.is_dir():
        raise ConfigError(f"report: --output {output} is a directory",
                          hint="give a file name, e.g. report.html")
    atomic_write(target, page)
    console.success(f"report: {target} ({len(line.bars)} actions on the timeline"
                    + (f", {len(causes)} miss causes against {against}" if against else "") + ")")
    return 0
