"""Bazel's execution log: one record per spawn Bazel ran or fetched from a remote cache (what
went into its key: command line, environment, platform, input files with digests; where it ran;
whether it was a cache hit). Reading and keeping it, pure over files.

Bazel 4.2.3 writes it as `--execution_log_binary_file` (SpawnExec protobuf messages, each
preceded by its varint length: the cheapest format it offers, about 0.6x the JSON) or
`--execution_log_json_file` (the same messages as concatenated JSON objects). The message's
field numbers are those of Bazel's `src/main/protobuf/spawn.proto` (Debian ships it under
/usr/share/bazel/embedded_tools/); unknown fields (later Bazels add some) are skipped.

tfbuild keeps each build's log as gzipped JSON lines, one SpawnExec per line with the JSON
format's field names (`commandArgs`, `environmentVariables`, ...), masked (`mask_spawn`):
readable by `jq` as much as by `invoke explain`.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from tfbuild import secrets

GZIP_MAGIC = b"\x1f\x8b"

# spawn.proto, field number -> (JSON name, kind); kind: "str", "int", "bool", a message name,
# and a trailing "*" for repeated fields
_SPAWN = {1: ("commandArgs", "str*"), 2: ("environmentVariables", "Pair*"),
          3: ("platform", "Platform"), 4: ("inputs", "File*"), 5: ("listedOutputs", "str*"),
          6: ("remotable", "bool"), 7: ("cacheable", "bool"), 8: ("timeoutMillis", "int"),
          9: ("progressMessage", "str"), 10: ("mnemonic", "str"),
          11: ("actualOutputs", "File*"), 12: ("runner", "str"), 13: ("remoteCacheHit", "bool"),
          14: ("status", "str"), 15: ("exitCode", "int"), 16: ("remoteCacheable", "bool")}
_MESSAGES = {
    "Pair": {1: ("name", "str"), 2: ("value", "str")},
    "Platform": {1: ("properties", "Pair*")},
    "File": {1: ("path", "str"), 2: ("digest", "Digest")},
    "Digest": {1: ("hash", "str"), 2: ("sizeBytes", "int"), 3: ("hashFunctionName", "str")},
}
_MAX_MESSAGE = 1 << 30  # no spawn is a gigabyte: a length beyond it means this is not a log


class ExecLogError(Exception):
    """The file is not an execution log this Bazel wrote, or it ends early."""


def _varint(data: bytes | memoryview, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ExecLogError("ends inside a number")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ExecLogError("a number longer than 10 bytes")


def _decode(data: memoryview, fields: dict) -> dict:
    out: dict = {}
    pos, end = 0, len(data)
    while pos < end:
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            size, pos = _varint(data, pos)
            if pos + size > end:
                raise ExecLogError("a field runs past its message")
            value, pos = data[pos:pos + size], pos + size
        elif wire == 1:
            value, pos = None, pos + 8
        elif wire == 5:
            value, pos = None, pos + 4
        else:
            raise ExecLogError(f"wire type {wire} is not protobuf's")
        spec = fields.get(number)
        if spec is None or value is None:
            continue  # a field of a later Bazel: skipped
        name, kind = spec
        repeated = kind.endswith("*")
        kind = kind.rstrip("*")
        if kind == "str":
            if not isinstance(value, memoryview):
                raise ExecLogError(f"field {name} has the wrong wire type")
            value = bytes(value).decode("utf-8", errors="replace")
        elif kind == "bool":
            value = bool(value)
        elif kind == "int":
            value = value - (1 << 64) if value >= 1 << 63 else value
        else:
            if not isinstance(value, memoryview):
                raise ExecLogError(f"field {name} has the wrong wire type")
            value = _decode(value, _MESSAGES[kind])
        if repeated:
            out.setdefault(name, []).append(value)
        else:
            out[name] = value
    return out


def read_binary(stream: BinaryIO) -> Iterator[dict]:
    """SpawnExec messages of a `--execution_log_binary_file`, as the JSON format's dicts."""
    data = stream.read()
    view = memoryview(data)
    pos, count = 0, 0
    while pos < len(data):
        try:
            size, start = _varint(view, pos)
        except ExecLogError:
            raise ExecLogError(f"ends inside record {count + 1} (truncated?)") from None
        if size > _MAX_MESSAGE:
            raise ExecLogError(f"record {count + 1} claims {size} bytes: not an execution log")
        if start + size > len(data):
            raise ExecLogError(f"ends inside record {count + 1}: {len(data) - start} of its "
                               f"{size} bytes are there (truncated?)")
        try:
            spawn = _decode(view[start:start + size], _SPAWN)
        except ExecLogError as exc:
            raise ExecLogError(f"record {count + 1} is not a SpawnExec: {exc}") from None
        if not spawn.get("commandArgs"):
            raise ExecLogError(f"record {count + 1} has no command line: not a Bazel execution log")
        yield spawn
        pos, count = start + size, count + 1


def read_json(stream: io.TextIOBase) -> Iterator[dict]:
    """SpawnExec objects of a `--execution_log_json_file` (concatenated, pretty-printed) or of
    tfbuild's kept log (one per line)."""
    decoder = json.JSONDecoder()
    buffer, count = "", 0
    for chunk in iter(lambda: stream.read(1 << 20), ""):
        buffer += chunk
        pos = 0
        while True:
            while pos < len(buffer) and buffer[pos] in " \t\r\n":
                pos += 1
            if pos >= len(buffer):
                break
            try:
                spawn, end = decoder.raw_decode(buffer, pos)
            except ValueError:
                break  # incomplete: read more (or, at the end, report it)
            if not isinstance(spawn, dict) or "commandArgs" not in spawn:
                raise ExecLogError(f"record {count + 1} is not a SpawnExec (no commandArgs)")
            yield spawn
            count += 1
            pos = end
        buffer = buffer[pos:]
    if buffer.strip():
        raise ExecLogError(f"ends inside record {count + 1} (truncated?)")


def read(path: Path) -> Iterator[dict]:
    """The spawns of an execution log in any of the forms above, gzipped or not."""
    try:
        with open(path, "rb") as raw:
            head = raw.read(2)
    except OSError as exc:
        raise ExecLogError(f"cannot be read: {exc.strerror}") from None
    opener = gzip.open if head == GZIP_MAGIC else open
    try:
        with opener(path, "rb") as handle:
            first = handle.read(1)
            while first in (b" ", b"\n", b"\t", b"\r"):
                first = handle.read(1)
            handle.seek(0)
            if first == b"{":
                yield from read_json(io.TextIOWrapper(handle, encoding="utf-8", errors="replace"))
            elif first:
                yield from read_binary(handle)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise ExecLogError(f"cannot be read: {exc}") from None


def mask_spawn(spawn: dict) -> dict:
    """The spawn with secrets masked where they can be: the command line, the environment, the
    platform and the progress message (a secret-named variable's value whole). Input and output
    paths are exec-root-relative file names and digests: kept as they are."""
    out = dict(spawn)
    for key in ("commandArgs", "progressMessage"):
        if key in out:
            out[key] = secrets.mask_data(out[key])
    if "environmentVariables" in out:
        out["environmentVariables"] = [secrets.mask_data(pair) for pair in out["environmentVariables"]]
    if "platform" in out:
        out["platform"] = secrets.mask_data(out["platform"])
    return out


def keep(raw: Path, dest: Path) -> int:
    """Bazel's raw log -> dest (gzipped JSON lines, masked), written atomically; the number of
    spawns. Raises ExecLogError for a log that cannot be read whole."""
    tmp = dest.with_name(f".{dest.name}.tmp")
    count = 0
    try:
        with gzip.open(tmp, "wt", encoding="utf-8", compresslevel=3) as out:
            for spawn in read(raw):
                out.write(json.dumps(mask_spawn(spawn), separators=(",", ":")) + "\n")
                count += 1
        tmp.replace(dest)
    finally:
        tmp.unlink(missing_ok=True)
    return count
