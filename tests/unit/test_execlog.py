"""Execution logs read (Bazel's binary and JSON forms, tfbuild's kept form) and compared: pure
logic over synthetic spawns. The real logs are read in tests/integration/test_build.py and
test_explain.py (Debian's Bazel 4.2.3 writes them)."""

from __future__ import annotations

import gzip
import io
import json

import pytest

from tfbuild import execlog, execlog_diff, secrets

pytestmark = pytest.mark.unit


# -- a protobuf writer for the tests' own spawns (field numbers of Bazel's spawn.proto) -------
def _varint(n: int) -> bytes:
    out = b""
    while True:
        byte, n = n & 0x7F, n >> 7
        out += bytes([byte | (0x80 if n else 0)])
        if not n:
            return out


def _field(number: int, payload: bytes | int | str) -> bytes:
    if isinstance(payload, bool) or isinstance(payload, int):
        return _varint(number << 3) + _varint(int(payload))
    data = payload.encode() if isinstance(payload, str) else payload
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def encode(spawn: dict) -> bytes:
    body = b"".join(_field(1, a) for a in spawn["commandArgs"])
    for pair in spawn.get("environmentVariables", ()):
        body += _field(2, _field(1, pair["name"]) + _field(2, pair["value"]))
    for f in spawn.get("inputs", ()):
        digest = _field(1, f["digest"]["hash"]) + _field(2, f["digest"]["sizeBytes"])
        body += _field(4, _field(1, f["path"]) + _field(2, digest))
    for out in spawn.get("listedOutputs", ()):
        body += _field(5, out)
    body += _field(10, spawn.get("mnemonic", ""))
    body += _field(12, spawn.get("runner", "local"))
    body += _field(99, "a field of a later Bazel")  # skipped
    return _varint(len(body)) + body


def spawn(out: str, inputs: dict[str, str], *, env: dict | None = None, args=None,
          mnemonic: str = "CppCompile", hit: bool = False) -> dict:
    return {"commandArgs": list(args or ["/usr/bin/clang", "-c", out]),
            "environmentVariables": [{"name": k, "value": v} for k, v in (env or {}).items()],
            "inputs": [{"path": p, "digest": {"hash": h, "sizeBytes": 1}} for p, h in inputs.items()],
            "listedOutputs": [out], "mnemonic": mnemonic, "runner": "local",
            "remoteCacheHit": hit}


def test_binary_log_reads_as_the_json_form_and_skips_unknown_fields():
    one = spawn("bazel-out/a.o", {"a.c": "h1"}, env={"PATH": "/bin"})
    data = encode(one) + encode(spawn("bazel-out/b.o", {"b.c": "h2"}))
    got = list(execlog.read_binary(io.BytesIO(data)))
    assert [s["listedOutputs"] for s in got] == [["bazel-out/a.o"], ["bazel-out/b.o"]]
    assert got[0]["environmentVariables"] == [{"name": "PATH", "value": "/bin"}]
    assert got[0]["inputs"] == [{"path": "a.c", "digest": {"hash": "h1", "sizeBytes": 1}}]


@pytest.mark.parametrize("cut", [1, 5, -1])
def test_a_truncated_binary_log_is_an_error_naming_the_record(cut):
    data = encode(spawn("x.o", {"x.c": "h"})) + encode(spawn("y.o", {"y.c": "h"}))
    first = len(encode(spawn("x.o", {"x.c": "h"})))
    with pytest.raises(execlog.ExecLogError, match="record 2"):
        list(execlog.read_binary(io.BytesIO(data[: first + cut if cut > 0 else len(data) + cut])))


def test_json_forms_pretty_concatenated_and_lines_and_truncated(tmp_path):
    a, b = spawn("a.o", {"a.c": "1"}), spawn("b.o", {"b.c": "2"})
    pretty = tmp_path / "bazel.json"
    pretty.write_text(json.dumps(a, indent=2) + json.dumps(b, indent=2))
    assert [s["listedOutputs"][0] for s in execlog.read(pretty)] == ["a.o", "b.o"]
    lines = tmp_path / "kept.exec.json.gz"
    with gzip.open(lines, "wt") as handle:
        handle.write(json.dumps(a) + "\n" + json.dumps(b) + "\n")
    assert len(list(execlog.read(lines))) == 2
    cut = tmp_path / "cut.json"
    cut.write_text(pretty.read_text()[:-10])
    with pytest.raises(execlog.ExecLogError, match="ends inside record 2"):
        list(execlog.read(cut))
    other = tmp_path / "bep.json"
    other.write_text('{"id": {"started": {}}}\n')
    with pytest.raises(execlog.ExecLogError, match="not a SpawnExec"):
        list(execlog.read(other))


def test_kept_log_is_masked_gzipped_json_lines(tmp_path):
    secrets.forget_all()
    secrets.register("registered-s3cret")
    raw = tmp_path / "raw.binpb"
    raw.write_bytes(encode(spawn("a.o", {"a.c": "1"}, env={"API_TOKEN": "tok-9876", "PATH": "/bin"},
                                 args=["clang", "--header=registered-s3cret", "-c", "a.c"])))
    kept = tmp_path / "kept.exec.json.gz"
    assert execlog.keep(raw, kept) == 1
    text = gzip.open(kept, "rt").read()
    assert "tok-9876" not in text and "registered-s3cret" not in text
    (got,) = execlog.read(kept)
    assert {"name": "API_TOKEN", "value": "***"} in got["environmentVariables"]
    assert {"name": "PATH", "value": "/bin"} in got["environmentVariables"]
    secrets.forget_all()


def compare(a: list[dict], b: list[dict]) -> execlog_diff.Comparison:
    return execlog_diff.compare(execlog_diff.Index(a), b)


def test_a_changed_header_is_one_cause_reaching_everything_downstream():
    def build(header: str, env_path: str = "/bin"):
        env = {"PATH": env_path}
        compiles = [spawn(f"o/{n}.o", {f"{n}.c": n, "common.h": header}, env=env) for n in "abc"]
        link = spawn("o/lib.so", {"o/a.o": header + "a", "o/b.o": header + "b", "o/c.o": header + "c"},
                     env=env, mnemonic="CppLink")
        untouched = spawn("o/other.o", {"other.c": "x"}, env=env)
        return compiles + [link, untouched]
    same = compare(build("h1"), build("h1"))
    assert same.identical and same.matched == 5
    result = compare(build("h1"), build("h2"))
    assert result.differing == 4
    ((cause, reach, examples),) = result.causes
    assert (cause.kind, cause.name, reach) == (execlog_diff.SOURCE, "common.h", 4)
    assert examples[0] == "CppCompile o/a.o"
    both = compare(build("h1"), build("h2", env_path="/usr/bin:/bin"))
    kinds = {(c.kind, c.name): n for c, n, _ in both.causes}
    assert kinds == {(execlog_diff.ENV, "PATH"): 5, (execlog_diff.SOURCE, "common.h"): 4}
    assert both.causes[0][0].kind == execlog_diff.ENV  # most actions first


def test_arguments_tools_added_inputs_and_an_unstable_producer():
    a = [spawn("o/gen.h", {"gen.py": "g"}, args=["python", "gen.py"], mnemonic="Genrule"),
         spawn("o/x.o", {"x.c": "1", "o/gen.h": "G1", "tools/cc": "t1"}, args=["tools/cc", "-O2"])]
    b = [spawn("o/gen.h", {"gen.py": "g"}, args=["python", "gen.py"], mnemonic="Genrule"),
         spawn("o/x.o", {"x.c": "1", "o/gen.h": "G2", "tools/cc": "t2", "new.h": "n"},
               args=["tools/cc", "-O3"])]
    result = compare(a, b)
    texts = sorted(c.text() for c, _, _ in result.causes)
    assert texts == sorted([
        "command line: removed -O2, added -O3",
        "input added: new.h",
        "tool tools/cc: digest t1 vs t2",
        # the generator's key is the same, its output is not: a non-reproducible action
        "non-reproducible action o/gen.h: digest G1 vs G2"])


def test_actions_only_in_one_build_are_counted_not_matched():
    result = compare([spawn("a.o", {"a.c": "1"}), spawn("b.o", {"b.c": "1"})],
                     [spawn("a.o", {"a.c": "1"}, hit=True)])
    assert result.only_a == ["b.o"] and result.only_b == [] and not result.identical
    assert result.runners_b == {"remote cache hit": 1}
