"""Ranges and shapes of every setting, checked where settings are resolved.

Types are checked as values are read (values.py); this module checks what a well-typed value
may be: `build.jobs` is not negative, `build.targets` is not empty, `docker.uid` is not root, a
CUDA profile names at least one compute capability, the source tree and output root have no
space (Bazel refuses a workspace path with one), and so on for every key of the model. A test
fails when a key of the model has no entry in RULES.

These are facts about the value, not the machine, so `--force` (which overrides failing doctor
checks) never lets an invalid value through.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping

from tfbuild import capabilities, secrets
from tfbuild.errors import ConfigError
from tfbuild.patching import literals
from tfbuild.settings.model import Settings

# A rule gets the value and the whole Settings (for the few rules that depend on another key)
# and returns what is wrong with it ("" when nothing) and, optionally, the fix.
Rule = Callable[[object, Settings], "str | tuple[str, str]"]

_VERSION3 = re.compile(r"^\d+\.\d+\.\d+\Z")
_VERSION2 = re.compile(r"^\d+\.\d+\Z")
_BAZEL_VERSION = re.compile(r"^\d+\.\d+\.\d+(?:[-.][A-Za-z0-9.]+)?\Z")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")
_LABEL = re.compile(r"^@?[A-Za-z0-9_.~-]*//[^\s\"'\\]*\Z")
_CONFIG = re.compile(r"^[A-Za-z0-9_.-]+\Z")
_COMPONENT = re.compile(r"^[a-z0-9_]+\Z")
_DIGEST = re.compile(r"^[^\s@]+@sha256:[0-9a-f]{64}\Z")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# What no value may hold, whatever its key: C0/C1 control characters (line breaks would inject
# lines into the rendered rc file, Dockerfile or environment.sh; escape sequences drive the
# terminal) and the bidi overrides and isolates that make a terminal show other text than there is.
_UNSAFE = re.compile(f"[\t\n{secrets.UNSAFE_CHARS}]")  # secrets.UNSAFE_CHARS, plus line breaks
MAX_UID = 2**31 - 2


def _no_control(value: str) -> str:
    return "contains a newline or other control character" if _CONTROL.search(value) else ""


def _plain_path(value: object, _s: Settings) -> str:
    return _no_control(str(value))


def _bazel_path(value: object, _s: Settings) -> str | tuple[str, str]:
    """A path Bazel is given as a workspace or output root: no space, no control character."""
    text = str(value)
    if not text.strip():
        return "is empty"
    if any(c.isspace() for c in text):
        return ("contains white space: Bazel does not work from paths containing spaces",
                "move it to a path without spaces (or link one there)")
    return _no_control(text)


def _optional_abs_path(value: object, _s: Settings) -> str | tuple[str, str]:
    text = str(value)
    if not text:
        return ""
    if not os.path.isabs(text):  # written to the rc file as it is: no `~`
        return "is relative", "give an absolute path (`~` is not expanded here)"
    return _no_control(text) or _rc_safe(text)


def _rc_safe(text: str) -> str:
    return "contains a quote or backslash" if any(c in text for c in '"\\') else ""


def _nonempty_str(value: object, _s: Settings) -> str:
    text = str(value)
    if not text.strip():
        return "is empty"
    return _no_control(text)


def _word(value: object, _s: Settings) -> str:
    """Non-empty, no white space (an argument passed as one token)."""
    text = str(value)
    if not text:
        return "is empty"
    if any(c.isspace() for c in text):
        return "contains white space"
    if text.startswith("-"):
        return "starts with '-' (it would be read as an option)"
    return ""


def _optional_word(value: object, s: Settings) -> str:
    return _word(value, s) if value else ""


def _version3(value: object, _s: Settings) -> str | tuple[str, str]:
    text = str(value)
    if _VERSION3.match(text):
        return ""
    example = text + ".0" if _VERSION2.match(text) else "12.4.0"
    return "is not a version x.y.z (Bazel needs three parts)", f"write it as \"{example}\""


def _tf_version(value: object, _s: Settings) -> str | tuple[str, str]:
    return "" if _VERSION3.match(str(value)) else ("is not a version x.y.z", "e.g. \"2.18.1\"")


def _python_version(value: object, _s: Settings) -> str | tuple[str, str]:
    if not value or _VERSION2.match(str(value)):
        return ""
    return "is not x.y", "e.g. \"3.11\", or \"\" for the version of toolchain.python"


def _docker_python(value: object, _s: Settings) -> str | tuple[str, str]:
    return "" if _VERSION2.match(str(value)) else ("is not x.y", "e.g. \"3.10\"")


def _bazel_version(value: object, _s: Settings) -> str | tuple[str, str]:
    if value == "from-source" or _BAZEL_VERSION.match(str(value)):
        return ""
    return "is not a Bazel version", "write x.y.z (e.g. \"6.5.0\") or \"from-source\""


def _major(value: object, _s: Settings) -> str | tuple[str, str]:
    return "" if 1 <= int(value) <= 999 else ("is not a major version (1 or more)", "e.g. 17")


def _clang_path(value: object, _s: Settings) -> str | tuple[str, str]:
    text = str(value)
    if not text:
        return ""
    if not os.path.basename(text).endswith("clang"):
        return ("does not end in `clang`: TF's CUDA rules treat it as not-clang",
                "use the unversioned name, e.g. /usr/lib/llvm-17/bin/clang")
    return _no_control(text) or _rc_safe(text)


def _capabilities(value: object, s: Settings) -> str | tuple[str, str]:
    entries = list(value)  # type: ignore[call-overload]
    _, problems = capabilities.normalise(entries)
    if problems:
        return f"entry {short_repr(problems[0].text)}: {problems[0].reason}", problems[0].fix
    if s.cuda.enabled and not entries:
        return ("is empty, but cuda.enabled is true: TF would build GPU code for no GPU",
                "list the GPUs' capabilities, e.g. [\"sm_86\"] (doctor shows this GPU's)")
    return ""


def _url(key: str, *, optional: bool) -> Rule:
    def rule(value: object, s: Settings) -> str | tuple[str, str]:
        if optional and not value:
            return ""
        try:
            literals.validate_url(key, str(value), allow_http=s.mirrors.allow_http)
        except ConfigError as exc:
            return "is not " + exc.message.split(" is not ", 1)[-1], exc.hint
        return ""
    return rule


def _hosts(value: object, _s: Settings) -> str | tuple[str, str]:
    for host in value:  # type: ignore[union-attr]
        try:
            literals.validate_host("mirrors.direct_hosts", host)
        except ConfigError as exc:
            return f"entry {short_repr(host)} is not a host name", exc.hint
    return ""


def _host_mirrors(value: object, s: Settings) -> str | tuple[str, str]:
    for host, url in dict(value).items():  # type: ignore[call-overload]
        try:
            literals.validate_host("mirrors.host_mirrors", host)
        except ConfigError as exc:
            return f"key {short_repr(host)} is not a host name", exc.hint
        try:
            literals.validate_url(f"mirrors.host_mirrors.{host}", str(url),
                                  allow_http=s.mirrors.allow_http)
        except ConfigError as exc:
            return f"value of {host} is not " + exc.message.split(" is not ", 1)[-1], exc.hint
    return ""


def _each(rule: Rule, *, nonempty: bool = False, what: str = "", example: str = "") -> Rule:
    def check(value: object, s: Settings) -> str | tuple[str, str]:
        items = list(value)  # type: ignore[call-overload]
        if nonempty and not items:
            return f"is empty{what}", f"list at least one entry{example}"
        for item in items:
            found = rule(item, s)
            problem, fix = found if isinstance(found, tuple) else (found, "")
            if problem:
                return f"entry {short_repr(item)} {problem}", fix
        return ""
    return check


def short_repr(value: object, limit: int = 80) -> str:
    """repr(value), cut to `limit` characters: a 10 MB label is named, not echoed."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit - 3]}... ({len(text)} characters)"


def _label(value: object, _s: Settings) -> str | tuple[str, str]:
    return "" if _LABEL.match(str(value)) else ("is not a Bazel target label",
                                               "write it as //package:target")


def _config(value: object, _s: Settings) -> str | tuple[str, str]:
    text = str(value)
    if text.startswith("--config="):
        return "includes `--config=`", f"write just {text[len('--config='):]!r}"
    return "" if _CONFIG.match(text) else ("is not a config name", "e.g. \"cuda_wheel\"")


def _option(value: object, _s: Settings) -> str:
    text = str(value)
    if not text:
        return "is empty"
    return _no_control(text)


def _flag(value: object, _s: Settings) -> str:
    text = str(value)
    if not text or any(c.isspace() for c in text):
        return "is empty or has white space (write one flag per entry)"
    return _no_control(text) or _rc_safe(text)


def _action_dir(value: object, _s: Settings) -> str | tuple[str, str]:
    """A directory on the actions' PATH: absolute (it is rendered into the rc file as it is),
    no `:` (the PATH separator), no space or quote."""
    text = str(value)
    if not os.path.isabs(text):
        return "is not an absolute path", "give an absolute directory, e.g. \"/opt/tools/bin\""
    if ":" in text or any(c.isspace() for c in text):
        return "contains ':' or white space", "give one directory per entry, without spaces"
    return _rc_safe(text)


def _repo_env(value: object, _s: Settings) -> str | tuple[str, str]:
    for name, val in dict(value).items():  # type: ignore[call-overload]
        if not _ENV_NAME.match(name):
            return f"key {name!r} is not an environment variable name", "use letters, digits, _"
        if _no_control(val):
            return f"value of {name} {_no_control(val)}"
    return ""


def _exec_properties(value: object, _s: Settings) -> str | tuple[str, str]:
    for name, val in dict(value).items():  # type: ignore[call-overload]
        if not name or "=" in name or any(c.isspace() for c in name):
            return (f"key {short_repr(name)} is not a platform property name",
                    "use a name without spaces or '=', e.g. OSFamily")
        if _no_control(val) or _no_control(name):
            return f"entry {short_repr(name)} {_no_control(val) or _no_control(name)}"
    return ""


def _remote_jobs(value: object, _s: Settings) -> str | tuple[str, str]:
    return "" if 0 <= int(value) <= 10_000 else (
        "is out of range", "use 0 (50 actions in flight) or a number from 1 to 10000")


def _jobs(value: object, _s: Settings) -> str | tuple[str, str]:
    return "" if int(value) >= 0 else ("is negative", "use 0 (doctor's recommendation) or "
                                                      "a positive number of CPUs")


ZIP_EPOCH, YEAR_2100 = 315532800, 4102444800  # 1980-01-01 (zip's earliest time), 2100-01-01


def _source_date_epoch(value: object, _s: Settings) -> str | tuple[str, str]:
    number = int(value)
    if number == 0 or ZIP_EPOCH <= number < YEAR_2100:
        return ""
    return ("is not a time a wheel can carry",
            f"use 0 (the commit time of git HEAD) or seconds since 1970 between {ZIP_EPOCH} "
            "(1980, zip's earliest) and 2100, e.g. `git log -1 --format=%ct v2.18.1`")


def _not_negative(what_zero: str) -> Rule:
    def rule(value: object, _s: Settings) -> str | tuple[str, str]:
        return "" if int(value) >= 0 else ("is negative", f"use 0 ({what_zero}) or a positive number")
    return rule


def _remote(prefixes: tuple[str, ...]) -> Rule:
    def rule(value: object, _s: Settings) -> str | tuple[str, str]:
        text = str(value)
        if not text:
            return ""
        if not text.startswith(prefixes) or any(c.isspace() for c in text):
            return "is not a Bazel remote URL", f"use one of {', '.join(prefixes)}"
        return ""
    return rule


def _env_name(value: object, _s: Settings) -> str | tuple[str, str]:
    if not value or _ENV_NAME.match(str(value)):
        return ""
    return "is not an environment variable name", "name the variable, e.g. BAZEL_REMOTE_HEADER"


def _base_image(value: object, _s: Settings) -> str | tuple[str, str]:
    """Well formed; an unpinned name is refused where an image is built (container.plan), so
    a profile may leave the pinning to its user (tfbuild ships no digest it has not seen)."""
    text = str(value)
    if not text or any(c.isspace() for c in text):
        return "is empty or contains white space", "e.g. debian:trixie@sha256:<64 hex digits>"
    if "@" in text and not _DIGEST.match(text):
        return ("has a malformed digest",
                "write it as REPO[:TAG]@sha256:<64 hex digits> (ubuntu:22.04@sha256:..., or your "
                "registry's mirror of it)")
    return _no_control(text)


_APT_SOURCE = re.compile(r"^deb(?:\s+\[[^\]\s]+(?:\s+[^\]\s]+)*\])?\s+https?://\S+\s+\S+(?:\s+\S+)*\Z")
_CODENAME = re.compile(r"^[a-z][a-z0-9-]*\Z")


def _apt_source(value: object, _s: Settings) -> str | tuple[str, str]:
    text = str(value)
    if _no_control(text):
        return _no_control(text)
    if not _APT_SOURCE.match(text):
        return ("is not a one-line apt source",
                "write it as \"deb http://mirror.example/debian trixie main\"")
    return ""


def _codename(value: object, _s: Settings) -> str | tuple[str, str]:
    return "" if not value or _CODENAME.match(str(value)) else (
        "is not a distro codename", "e.g. \"trixie\" or \"noble\"")


def _http_url(*, optional: bool) -> Rule:
    """A download source whose bytes are checked by a pin (sha256, a signing key's
    fingerprint), so plain http is as safe as https here."""
    def check(value: object, _s: Settings) -> str | tuple[str, str]:
        text = str(value)
        if not text and optional:
            return ""
        if not _PLAIN_URL.match(text):
            return ("is not a plain http(s) URL (host, optional port and path of letters, "
                    "digits and . _ ~ / % + = @ -; it is pasted into the image's shell steps)",
                    "e.g. https://mirror.example/llvm")
        return ""
    return check


_PLAIN_URL = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d+)?(/[A-Za-z0-9._~/%+=@-]*)?\Z")


def _volume_name(value: object, _s: Settings) -> str | tuple[str, str]:
    text = str(value).replace("{profile}", "p")
    return "" if re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]*\Z", text) else (
        "is not a volume name", "letters, digits, _ . -, e.g. \"tfbuild-cache-{profile}\"")


def _uid(value: object, _s: Settings) -> str | tuple[str, str]:
    number = int(value)
    if number == 0:
        return "is root: the image promises a non-root builder", "use a user id such as 1000"
    if not 1 <= number <= MAX_UID:
        return f"is out of range (1..{MAX_UID})", "use a user id such as 1000"
    return ""


def _component(value: object, _s: Settings) -> str:
    return "" if _COMPONENT.match(str(value)) else "is not a redistributable name (e.g. cuda_nvcc)"


def _any(_value: object, _s: Settings) -> str:
    return ""


RULES: dict[str, Rule] = {
    "tensorflow.version": _tf_version,
    "tensorflow.git_url": _word,
    "tensorflow.git_ref": _word,
    "tensorflow.source_dir": _bazel_path,
    "tensorflow.source_date_epoch": _source_date_epoch,
    "toolchain.clang_major": _major,
    "toolchain.clang_prefix": _plain_path,
    "toolchain.clang_path": _clang_path,
    "toolchain.gcc_major": _major,
    "toolchain.bazel": _plain_path,
    "toolchain.bazel_version": _bazel_version,
    "toolchain.python": _plain_path,
    "toolchain.python_version": _python_version,
    "cuda.enabled": _any,  # a boolean: its type is its range
    "cuda.version": _version3,
    "cuda.cudnn_version": _version3,
    "cuda.local_cuda_path": _optional_abs_path,
    "cuda.local_cudnn_path": _optional_abs_path,
    "cuda.local_nccl_path": _optional_abs_path,
    "cuda.compute_capabilities": _capabilities,
    "cuda.layout_fix": _any,  # one of its Literal choices, checked on read
    "mirrors.tf_mirror": _url("mirrors.tf_mirror", optional=True),
    "mirrors.direct_hosts": _hosts,
    "mirrors.pip_index": _url("mirrors.pip_index", optional=True),
    "mirrors.pip_method": _any,  # Literal
    "mirrors.allow_http": _any,  # boolean
    "mirrors.downloader_config": _any,  # boolean
    "mirrors.host_mirrors": lambda v, s: _host_mirrors(v, s),
    "build.output_user_root": lambda v, s: _bazel_path(v, s) if v else "",
    "build.jobs": _jobs,
    "build.targets": _each(_label, nonempty=True, what=": there is nothing to build",
                           example=", e.g. //tensorflow/tools/pip_package:wheel"),
    "build.configs": _each(_config),
    "build.repo_env": _repo_env,
    "build.bazel_options": _each(_option),
    "build.startup_options": _each(_option),
    "build.action_path_dirs": _each(_action_dir),
    "build.cc_opt_flags": _each(_flag),
    "build.disk_cache": _plain_path,
    "build.dist_dir": _nonempty_str,
    "build.disk_cache_max_gib": _not_negative("no limit"),
    "build.min_free_mib": _not_negative("do not watch"),
    "build.fetch_timeout_s": _not_negative("no bound"),
    "build.keep_builds": _not_negative("keep every build's logs"),
    "build.execution_log": _any,  # boolean
    "remote.cache": _remote(("http://", "https://", "grpc://", "grpcs://", "unix:")),
    "remote.executor": _remote(("grpc://", "grpcs://", "unix:")),
    "remote.instance_name": _optional_word,
    "remote.tls_ca": _plain_path,  # the files themselves are checked before Bazel starts
    "remote.tls_client_cert": _plain_path,
    "remote.tls_client_key": _plain_path,
    "remote.header_env": _env_name,
    "remote.upload_local_results": _any,  # boolean
    "remote.tf_public_cache": _any,  # boolean
    "remote.exec_properties": _exec_properties,
    "remote.local_fallback": _any,  # boolean
    "remote.jobs": _remote_jobs,
    "remote.download_outputs": _any,  # Literal
    "remote.workers_have_host_paths": _any,  # boolean
    "docker.engine": _any,  # Literal
    "docker.base_image": _base_image,
    "docker.codename": _codename,
    "docker.apt_sources": _each(_apt_source),
    "docker.clang_from": _any,  # Literal
    "docker.llvm_apt_url": _http_url(optional=False),
    "docker.bazel_from": _any,  # Literal
    "docker.bazelisk_url": _http_url(optional=True),
    "docker.ca_certificates": _each(_plain_path),  # the files are read by docker-build
    "docker.cache_volume": _volume_name,
    "docker.image": _word,
    "docker.uid": _uid,
    "docker.python": _docker_python,
    "docker.cuda_from": _any,  # Literal
    "docker.cuda_components": _each(_component),
}


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in (*_strings(k), *_strings(v))]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _strings(v)]
    return []


def unsafe_text(text: str) -> str:
    """What is wrong with a string shown or rendered anywhere: "" when nothing."""
    match = _UNSAFE.search(text)
    if match:
        char = match.group()
        kind = ("a newline or other control character" if char in "\r\n" else
                "a control character" if ord(char) < 0x200 else
                "a bidi control character (it reorders what a terminal shows)")
        return f"contains {kind} ({repr(match.group())[1:-1]})"
    return ""


def credentials_problem(text: str) -> tuple[str, str] | None:
    """A URL with `user:password@` (or a token) in it: refused, never stored or printed."""
    if secrets.url_credentials(text) is None:
        return None
    return ("carries credentials in a URL (user:password@ or token@): they would be written "
            "to .tf_configure.bazelrc, logs and manifests",
            "remove them from the URL; for a remote cache or executor export the whole "
            "authorization header in a variable and name it in remote.header_env; for a pip "
            "index or download mirror put them in ~/.netrc")


def _every_value(value: object) -> str | tuple[str, str]:
    for text in _strings(value):
        problem = unsafe_text(text)
        if problem:
            return problem, "remove it (values are single lines of printable text)"
        found = credentials_problem(text)
        if found:
            return found
    return ""


def problems(settings: Settings) -> list[tuple[str, str, str]]:
    """(key, what is wrong, fix) for every invalid value, in model order: first what no value
    may hold (_every_value), then the key's own rule."""
    out = []
    for key, rule in RULES.items():
        found = _every_value(settings.get(key)) or rule(settings.get(key), settings)
        problem, fix = found if isinstance(found, tuple) else (found, "")
        if problem:
            out.append((key, problem, fix))
    return out


def validate(settings: Settings, sources: Mapping[str, object]) -> None:
    """Raise ConfigError naming the first invalid key, its value and where it was set."""
    found = problems(settings)
    if not found:
        return
    key, problem, fix = found[0]
    value = settings.get(key)
    where = sources.get(key)
    origin = f" (set by {_CONTROL.sub(lambda m: repr(m.group())[1:-1], str(where))})" \
        if where is not None else ""
    more = f"; {len(found) - 1} more invalid: {', '.join(k for k, _, _ in found[1:])}" \
        if len(found) > 1 else ""
    raise ConfigError(f"{key} = {_show(value)} {problem}{origin}{more}",
                      hint=fix or f"change {key}")


def _show(value: object) -> str:
    return secrets.mask(short_repr(value))
