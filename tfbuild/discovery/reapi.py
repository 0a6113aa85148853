"""Ask a Remote Execution API server what it offers: one gRPC call,
`build.bazel.remote.execution.v2.Capabilities/GetCapabilities`, spoken over HTTP/2 by hand (the
few frames one unary call needs; no gRPC library). The answer is the server's own
ServerCapabilities: whether it executes, its digest function, its action cache, the API versions.

Bazel asks the same at the start of every build with an executor, and fails there ("Failed to
query remote execution capabilities"); doctor asks first, to say so in a row.

Frames (RFC 9113): the client preface and an empty SETTINGS, a HEADERS frame with literal
(never indexed, never Huffman-coded) HPACK fields, one DATA frame with the gRPC-framed request.
The server's SETTINGS are acknowledged; its DATA frame carries the gRPC-framed response. A
trailers-only answer (an error status) carries no DATA: that is reported as "no capabilities".
"""

from __future__ import annotations

import base64
import socket
import struct
from dataclasses import dataclass

from tfbuild.discovery import remote_probe as net

PATH = "/build.bazel.remote.execution.v2.Capabilities/GetCapabilities"
DIGESTS = {0: "UNKNOWN", 1: "SHA256", 2: "SHA1", 3: "MD5", 4: "VSO", 5: "SHA384", 6: "SHA512",
           7: "MURMUR3", 8: "SHA256TREE", 9: "BLAKE3"}
DATA, HEADERS, SETTINGS, PING, GOAWAY, RST_STREAM = 0x0, 0x1, 0x4, 0x6, 0x7, 0x3
END_STREAM, END_HEADERS, ACK = 0x1, 0x4, 0x1


@dataclass(frozen=True)
class Capabilities:
    exec_enabled: bool
    exec_digest: str  # the digest function execution uses
    cache_digests: tuple[str, ...]  # the digest functions the CAS accepts
    action_cache_update: bool  # clients may write the action cache
    low_api: str
    high_api: str


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _fields(data: bytes) -> dict[int, list]:
    """A protobuf message's fields: number -> values (ints for varints, bytes otherwise)."""
    out: dict[int, list] = {}
    i = 0
    while i < len(data):
        key, i = _read_varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _read_varint(data, i)
        elif wire == 2:
            size, i = _read_varint(data, i)
            value, i = data[i:i + size], i + size
        elif wire == 1:
            value, i = data[i:i + 8], i + 8
        elif wire == 5:
            value, i = data[i:i + 4], i + 4
        else:
            raise ValueError(f"protobuf wire type {wire}")
        out.setdefault(number, []).append(value)
    return out


def _read_varint(data: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if i >= len(data):
            raise ValueError("truncated varint")
        byte = data[i]
        value |= (byte & 0x7F) << shift
        i += 1
        if not byte & 0x80:
            return value, i
        shift += 7


def _packed(values: list) -> list[int]:
    out: list[int] = []
    for value in values:
        if isinstance(value, int):
            out.append(value)
        else:
            i = 0
            while i < len(value):
                number, i = _read_varint(value, i)
                out.append(number)
    return out


def _semver(values: list) -> str:
    if not values:
        return ""
    fields = _fields(values[0])
    return ".".join(str((fields.get(n) or [0])[0]) for n in (1, 2))


def parse_capabilities(message: bytes) -> Capabilities:
    """ServerCapabilities (remote_execution.proto): cache_capabilities = 1,
    execution_capabilities = 2, low_api_version = 4, high_api_version = 5."""
    top = _fields(message)
    cache = _fields(top[1][0]) if top.get(1) else {}
    execution = _fields(top[2][0]) if top.get(2) else {}
    update = _fields(cache[2][0]) if cache.get(2) else {}
    return Capabilities(
        exec_enabled=bool((execution.get(2) or [0])[0]),
        exec_digest=DIGESTS.get((execution.get(1) or [0])[0], "?"),
        cache_digests=tuple(DIGESTS.get(d, str(d)) for d in _packed(cache.get(1, []))),
        action_cache_update=bool((update.get(1) or [0])[0]),
        low_api=_semver(top.get(4, [])), high_api=_semver(top.get(5, [])))


def _literal(name: str, value: str) -> bytes:
    """An HPACK literal header field without indexing, new name, no Huffman coding."""
    def string(text: str) -> bytes:
        raw = text.encode()
        if len(raw) >= 127:
            raise ValueError("header too long for this client")
        return bytes([len(raw)]) + raw
    return b"\x00" + string(name) + string(value)


def _frame(kind: int, flags: int, stream: int, payload: bytes = b"") -> bytes:
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) \
        + payload


def _string_field(number: int, text: str | bytes) -> bytes:
    raw = text.encode() if isinstance(text, str) else text
    return _varint(number << 3 | 2) + _varint(len(raw)) + raw


# RequestMetadata (remote_execution.proto), as every Bazel call carries it: tool_details = 1
# {tool_name = 1, tool_version = 2}, tool_invocation_id = 3. Servers may require it (Bazel's own
# worker refuses a call without it: "RequestMetadata not received from the client").
METADATA_HEADER = "build.bazel.remote.execution.v2.requestmetadata-bin"
REQUEST_METADATA = (_string_field(1, _string_field(1, "tfbuild") + _string_field(2, "doctor"))
                    + _string_field(3, "tfbuild-capabilities"))


def request_bytes(ep: net.Endpoint, instance_name: str = "") -> bytes:
    headers = b"".join(_literal(n, v) for n, v in (
        (":method", "POST"), (":scheme", "https" if ep.tls else "http"), (":path", PATH),
        (":authority", f"{ep.host}:{ep.port}"), ("content-type", "application/grpc"),
        ("te", "trailers"),
        (METADATA_HEADER, base64.b64encode(REQUEST_METADATA).decode().rstrip("="))))
    message = (b"\x0a" + _varint(len(instance_name.encode())) + instance_name.encode()
               if instance_name else b"")
    body = b"\x00" + struct.pack(">I", len(message)) + message
    return (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + _frame(SETTINGS, 0, 0)
            + _frame(HEADERS, END_HEADERS, 1, headers) + _frame(DATA, END_STREAM, 1, body))


def _recv_exact(sock, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("the server closed the connection")
        data += chunk
    return data


def _response(sock) -> bytes | None:
    """The gRPC message of stream 1's DATA frames, None when the stream ends without one."""
    body = b""
    while True:
        head = _recv_exact(sock, 9)
        size = int.from_bytes(head[:3], "big")
        kind, flags, stream = head[3], head[4], int.from_bytes(head[5:9], "big") & 0x7FFFFFFF
        payload = _recv_exact(sock, size) if size else b""
        if kind == SETTINGS and not flags & ACK:
            sock.sendall(_frame(SETTINGS, ACK, 0))
        elif kind == PING and not flags & ACK:
            sock.sendall(_frame(PING, ACK, 0, payload))
        elif kind == GOAWAY:
            raise ConnectionError("the server sent GOAWAY")
        elif stream == 1 and kind == RST_STREAM:
            raise ConnectionError("the server reset the call")
        elif stream == 1 and kind == DATA:
            body += payload
        if stream == 1 and kind in (DATA, HEADERS) and flags & END_STREAM:
            if len(body) < 5:
                return None
            return body[5:5 + int.from_bytes(body[1:5], "big")]


def get_capabilities(ep: net.Endpoint, files: net.TlsFiles = net.TlsFiles(), *,
                     instance_name: str = "", timeout: float = 5.0) -> tuple[Capabilities | None, str]:
    """(capabilities, "") or (None, what went wrong)."""
    try:
        sock = socket.create_connection((ep.host, ep.port), timeout=timeout)
    except OSError as exc:
        return None, f"TCP {ep.host}:{ep.port}: {exc.strerror or exc}"
    try:
        if ep.tls:
            sock = net.tls_context(files, grpc=True).wrap_socket(sock, server_hostname=ep.host)
        sock.sendall(request_bytes(ep, instance_name))
        message = _response(sock)
    except (OSError, ConnectionError, ValueError) as exc:
        return None, f"GetCapabilities on {ep.host}:{ep.port}: {exc}"
    finally:
        sock.close()
    if message is None:
        return None, (f"GetCapabilities on {ep.host}:{ep.port}: no answer (an error status; "
                      "check remote.instance_name)")
    try:
        return parse_capabilities(message), ""
    except (ValueError, IndexError) as exc:
        return None, f"GetCapabilities on {ep.host}:{ep.port}: unreadable answer ({exc})"
