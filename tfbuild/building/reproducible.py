"""`invoke verify-reproducible`: build the same commit twice, sharing nothing, and compare every
artifact byte for byte; or compare one's own build with published SHA256SUMS (`--against`).

The second build runs in a second checkout of the same commit (a `git worktree`; tfbuild's own
patches are applied there by the build, as in the first), with its own output root, no disk or
remote cache (a cache hit makes equality trivial), another HOME, state dir, time zone and locale,
and later. The first build is the one in dist/<profile>/ when it is of this very commit and
profile; otherwise it is made first. Differences are named member by member (archive_diff), with
diffoscope's report when it is installed; the verdict goes into the manifest and a report file
beside the artifacts.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Iterable
from pathlib import Path

from tfbuild import archive_diff, console, paths, sums
from tfbuild.building import manifest as manifest_mod
from tfbuild.container import engine
from tfbuild.errors import (EXIT_NOT_ALL_OK, EXIT_OK, CommandError, ConfigError,
                            PreconditionError, TfbuildError)
from tfbuild.files import atomic_write, sha256_file
from tfbuild.patching import records
from tfbuild.runner import Runner, quote
from tfbuild.settings import resolve

REPORT = "reproducible.txt"
OTHER_TZ = {"UTC": "Asia/Tokyo"}  # the second build's time zone: never the first's
TFBUILD = [sys.executable, "-m", "tfbuild"]


# -- comparing -----------------------------------------------------------------------------------
def compare_sums(ours: dict[str, str], theirs: dict[str, str]) -> list[tuple[str, str]]:
    """(name, what differs) for every file of either list that the other lacks or hashes
    otherwise (pure)."""
    out = []
    for name in sorted(set(ours) | set(theirs)):
        if name not in theirs:
            out.append((name, "only in ours"))
        elif name not in ours:
            out.append((name, "only in theirs"))
        elif ours[name] != theirs[name]:
            out.append((name, f"sha256 {ours[name][:16]}… vs {theirs[name][:16]}…"))
    return out


def read_published(path: Path) -> dict[str, str]:
    """A colleague's or CI's SHA256SUMS, given as a file or the dist directory holding it."""
    if not os.path.lexists(path):
        raise ConfigError(f"--against {path}: no such file",
                          hint="give the SHA256SUMS file (or the dist/<profile> directory) to "
                               "compare with")
    return sums.read(path) if path.is_dir() else sums.read_file(path)


def member_lines(first: Path, second: Path, name: str) -> list[str]:
    if not archive_diff.is_archive(first / name):
        return []
    try:
        return archive_diff.summary(archive_diff.compare(first / name, second / name))
    except archive_diff.NotAnArchive as exc:
        return [f"members not compared: {exc}"]


def diffoscope_report(first: Path, second: Path, name: str, out: Path,
                      runner: Runner) -> Path | None:
    program = shutil.which("diffoscope")
    if not program:
        return None
    report = out / f"{name}.diffoscope.txt"
    runner.run([program, "--text", str(report), str(first / name), str(second / name)],
               check=False, timeout=1800)
    return report if report.exists() else None


# -- the two builds ------------------------------------------------------------------------------
def git_head(source: Path, runner: Runner) -> str | None:
    if not (source / ".git").exists():
        return None
    result = runner.run(["git", "-C", str(source), "rev-parse", "HEAD"], check=False)
    return result.output.strip() if result.ok else None


def user_edits(source: Path, runner: Runner) -> list[str]:
    """Tracked files changed since HEAD that tfbuild did not change (its patches are recorded
    with the hash they left; the rc is not tracked)."""
    result = runner.run(["git", "-C", str(source), "status", "--porcelain=v1", "-z",
                         "--untracked-files=no"], check=False)
    if not result.ok:
        raise CommandError(f"git status failed in {source}", argv=["git", "status"],
                           returncode=result.returncode, output_tail=result.output[-2000:])
    patched = records.load(paths.state_dir(source))
    edits = []
    for entry in result.output.split("\0"):
        if len(entry) < 4:
            continue
        relative = entry[3:]
        path = source / relative
        record = patched.get(str(path))
        if record and path.is_file() and sha256_file(path) == record.patched_sha256:
            continue
        edits.append(relative)
    return edits


def build_argv(profile_ref: str | None, source: Path, overrides: Iterable[str],
               in_docker: bool = False) -> list[str]:
    argv = [*TFBUILD, "build", "--source", str(source), *(["--in-docker"] if in_docker else [])]
    if profile_ref:
        argv += ["--profile", profile_ref]
    for item in overrides:
        argv += ["--set", item]
    return argv


def isolated(work: Path, volume: str = "") -> tuple[list[str], dict[str, str]]:
    """--set options and environment of the second build: nothing shared with the first. In
    a container (`volume`: its own cache volume, removed after) the output root and disk cache
    are the volume's; TZ and the locale reach the build inside."""
    sets = [f"build.output_user_root={work / 'root'}", f"build.dist_dir={work / 'dist'}",
            "build.disk_cache=", "remote.cache=", "remote.executor="]
    if volume:
        sets.append(f"docker.cache_volume={volume}")
    tz = os.environ.get("TZ", "UTC")
    env = {"HOME": str(work / "home"), "TZ": OTHER_TZ.get(tz, "UTC"), "LC_ALL": "C.UTF-8",
           "LANG": "C.UTF-8", "TFBUILD_STATE_DIR": str(work / "state")}
    return sets, env


def reusable_first(dist: Path, commit: str, profile_name: str) -> bool:
    """dist/<profile>/ holds a build of this very commit and profile, its files as recorded."""
    try:
        document = json.loads((dist / manifest_mod.MANIFEST).read_text())
        sums.verify(dist, list(sums.read(dist)))
    except (OSError, ValueError, TfbuildError):
        return False
    return (isinstance(document, dict)
            and (document.get("tensorflow") or {}).get("git_commit") == commit
            and (document.get("profile") or {}).get("name") == profile_name)


def _run(argv: list[str], env: dict[str, str] | None, runner: Runner, what: str) -> None:
    console.step(what)
    code = runner.stream(argv, on_line=lambda line: console.plain(f"  | {line}"), env=env)
    if code != 0:
        raise CommandError(f"{what} failed (exit {code})", argv=argv, returncode=code,
                           hint="its output is above; the failure is the build's own")


def _record(dist: Path, verdict: dict) -> None:
    path = dist / manifest_mod.MANIFEST
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    if isinstance(document, dict):
        document["reproducible"] = verdict
        manifest_mod.write(path, document)


# -- the task ------------------------------------------------------------------------------------
def verify(profile_ref: str | None = None, *, source: str | None = None,
           overrides: Iterable[str] = (), against: str | None = None,
           dry_run: bool = False, in_docker: bool = False) -> int:
    overrides = list(overrides)
    profile = resolve(profile_ref, overrides=overrides)
    settings = profile.settings
    src = paths.source_dir(settings, source)
    dist = paths.expand(settings.build.dist_dir) / profile.name
    runner = Runner(echo=True)
    if against is not None:
        return verify_against(dist, Path(against))
    if not src.is_dir():
        raise PreconditionError(f"{src} does not exist", hint="pass --source DIR of a TF tree")
    commit = git_head(src, runner)
    if commit is None:
        raise PreconditionError(
            f"{src} is not a git checkout: verify-reproducible builds a second checkout of the "
            "same commit (git worktree), and a tree without git has no commit to check out"
            + ("" if settings.tensorflow.source_date_epoch else
               "; its wheel would also carry the time of the build (tensorflow.source_date_epoch "
               "is 0)"),
            hint="run it in a git checkout of TensorFlow; to compare a build of a tarball with "
                 "another one, use --against their SHA256SUMS (and set "
                 "tensorflow.source_date_epoch for both)")
    edits = user_edits(src, runner)
    if edits:
        raise PreconditionError(
            f"{len(edits)} uncommitted edit(s) in {src} ({', '.join(edits[:5])}"
            f"{', ...' if len(edits) > 5 else ''}): the second checkout of {commit[:12]} would "
            "not have them, so the builds would differ for that reason alone",
            hint="commit them (or `git stash` them) and run it again")
    work = paths.state_dir(src) / "reproducible"
    reuse = reusable_first(dist, commit, profile.name)
    first_argv = build_argv(profile_ref, src, overrides, in_docker)
    volume = f"tfbuild-reproducible-{commit[:12]}-{os.getpid()}" if in_docker else ""
    sets, env = isolated(work, volume)
    second_argv = build_argv(profile_ref, work / "checkout", [*overrides, *sets], in_docker)
    if dry_run:
        console.step(f"verify-reproducible for profile {profile.name} at {commit[:12]} "
                     "(dry run: nothing is run)")
        console.info("1. first build: " + (f"the one in {dist} (this commit and profile)"
                                           if reuse else "made now:"))
        if not reuse:
            console.plain(f"   {quote(first_argv)}")
        console.info(f"2. second checkout: git worktree add --detach {work / 'checkout'} "
                     f"{commit}")
        console.info("3. second build, sharing nothing (own output root, no disk or remote "
                     "cache, another HOME, state dir, TZ and locale):")
        console.plain("   " + " ".join(f"{k}={quote([v])}" for k, v in env.items()) + " "
                      + quote(second_argv))
        console.info(f"4. compare every file of {dist / sums.SUMS} with the second build's")
        return EXIT_OK
    if work.exists():  # a check that was stopped: only tfbuild's own directory, made below
        _clean(src, work, runner)
    work.mkdir(parents=True)
    started = time.time()
    try:
        if not reuse:
            _run(first_argv, None, runner, "first build")
        first = sums.read(dist)
        sums.verify(dist, list(first))
        runner.run(["git", "-C", str(src), "worktree", "add", "--detach",
                    str(work / "checkout"), commit])
        (work / "home").mkdir()
        time.sleep(1)  # later than the first build, whatever the clock's resolution
        _run(second_argv, {**env}, runner, "second build (sharing nothing with the first)")
        second_dist = work / "dist" / profile.name
        second = sums.read(second_dist)
        sums.verify(second_dist, list(second))
        return _verdict(dist, second_dist, first, second, commit, env, started, runner)
    finally:
        _clean(src, work, runner)
        if volume:
            _remove_volume(settings.docker.engine, volume, runner)


def _verdict(dist: Path, second_dist: Path, first: dict[str, str], second: dict[str, str],
             commit: str, env: dict[str, str], started: float, runner: Runner) -> int:
    varied = (f"another checkout path, output root, HOME and state dir, TZ={env['TZ']}, "
              f"LC_ALL={env['LC_ALL']}, later, no disk or remote cache")
    differences = compare_sums(first, second)
    lines = [f"verify-reproducible: two builds of {commit} ({varied})", ""]
    verdict = {"commit": commit, "equal": not differences, "varied": varied,
               "files": len(first), "checked_at": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                 time.gmtime()),
               "differences": {}}
    if not differences:
        lines.append(f"reproducible: all {len(first)} files byte-identical")
        atomic_write(dist / REPORT, "\n".join(lines) + "\n")
        _record(dist, verdict)
        console.success(f"reproducible: all {len(first)} files of {dist} are byte-identical in "
                        f"a second build of {commit[:12]} ({time.time() - started:.0f} s)")
        return EXIT_OK
    console.error(f"not reproducible: {len(differences)} of {len(set(first) | set(second))} "
                  f"files differ between two builds of {commit[:12]}")
    for name, what in differences:
        members = member_lines(dist, second_dist, name) if "only in" not in what else []
        report = (diffoscope_report(dist, second_dist, name, dist, runner)
                  if "only in" not in what else None)
        verdict["differences"][name] = {"what": what, "members": members,
                                        "diffoscope": str(report) if report else None}
        console.plain(f"  {name}: {what}")
        lines.append(f"{name}: {what}")
        for line in members:
            console.plain(f"    {line}")
            lines.append(f"  {line}")
        if report:
            console.plain(f"    diffoscope's report: {report}")
            lines.append(f"  diffoscope's report: {report}")
    if not shutil.which("diffoscope"):
        console.note("    (diffoscope is not installed: the members above are tfbuild's own "
                     "comparison; Debian's diffoscope-minimal shows the bytes)")
    atomic_write(dist / REPORT, "\n".join(lines) + "\n")
    _record(dist, verdict)
    console.note(f"    report: {dist / REPORT}")
    return EXIT_NOT_ALL_OK


def verify_against(dist: Path, published: Path) -> int:
    ours = sums.read(dist)
    sums.verify(dist, list(ours))
    theirs = read_published(published)
    differences = compare_sums(ours, theirs)
    if not differences:
        console.success(f"reproducible: all {len(ours)} files of {dist} match {published}")
        return EXIT_OK
    console.error(f"{len(differences)} file(s) of {dist} differ from {published}")
    for name, what in differences:
        console.plain(f"  {name}: {what}")
    console.note("    (only the sums were published: to see which members differ, get their "
                 "files and run `invoke manifest --diff` on the two dist directories)")
    return EXIT_NOT_ALL_OK


def _clean(source: Path, work: Path, runner: Runner) -> None:
    """Remove what the check made: its worktree (through git), then its own directory, after
    its Bazel server is stopped."""
    checkout, root = work / "checkout", work / "root"
    bazel = _bazel_of(work)
    if bazel and root.is_dir() and checkout.is_dir():
        runner.run([bazel, f"--output_user_root={root}", "shutdown"], cwd=checkout,
                   check=False, timeout=120)
    if checkout.exists():
        runner.run(["git", "-C", str(source), "worktree", "remove", "--force", str(checkout)],
                   check=False)
    runner.run(["git", "-C", str(source), "worktree", "prune"], check=False)
    _remove_tree(work)


def _remove_volume(choice: str, volume: str, runner: Runner) -> None:
    """The second in-container build's cache volume: named by this check, so it is ours."""
    try:
        found = engine.detect(choice, runner)
    except TfbuildError:
        return
    runner.run([found.command, "volume", "rm", "--force", volume], check=False, quiet=True,
               timeout=120)


def _bazel_of(work: Path) -> str | None:
    """The Bazel the second build ran (its manifest's argv), to stop its server."""
    for path in (work / "dist").glob(f"*/{manifest_mod.MANIFEST}"):
        try:
            return str(json.loads(path.read_text())["bazel"]["argv"][0])
        except (OSError, ValueError, KeyError, IndexError, TypeError):
            continue
    return None


def _remove_tree(path: Path) -> None:
    """Bazel leaves its output tree read-only: make it writable, then remove it."""
    for root, dirs, _ in os.walk(path):
        for name in dirs:
            full = os.path.join(root, name)
            if not os.path.islink(full):
                os.chmod(full, 0o755)
    shutil.rmtree(path, ignore_errors=True)
