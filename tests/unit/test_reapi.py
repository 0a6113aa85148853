"""The REAPI capabilities call doctor makes (discovery.reapi), its pure parts: the request's
HTTP/2 frames and the reading of a ServerCapabilities message (field numbers from
remote_execution.proto). The call itself is tested against Bazel's own remote worker
(tests/integration/test_remote_exec.py)."""

from __future__ import annotations

from tfbuild.discovery import reapi
from tfbuild.discovery.remote_probe import Endpoint


def message(number: int, body: bytes) -> bytes:
    return reapi._varint(number << 3 | 2) + reapi._varint(len(body)) + body


def varint_field(number: int, value: int) -> bytes:
    return reapi._varint(number << 3) + reapi._varint(value)


def test_server_capabilities_are_read_by_field_number():
    cache = message(1, bytes([1, 5])) + message(2, varint_field(1, 1))  # SHA256, SHA384; AC
    execution = varint_field(1, 1) + varint_field(2, 1)  # SHA256, exec_enabled
    caps = reapi.parse_capabilities(message(1, cache) + message(2, execution)
                                    + message(4, varint_field(1, 2))
                                    + message(5, varint_field(1, 2) + varint_field(2, 3)))
    assert caps == reapi.Capabilities(exec_enabled=True, exec_digest="SHA256",
                                      cache_digests=("SHA256", "SHA384"),
                                      action_cache_update=True, low_api="2.0", high_api="2.3")


def test_a_cache_only_server_does_not_execute():
    caps = reapi.parse_capabilities(message(1, message(1, bytes([1]))))
    assert not caps.exec_enabled and caps.cache_digests == ("SHA256",)


def test_the_request_is_one_unary_call_with_request_metadata():
    data = reapi.request_bytes(Endpoint("grpc", "127.0.0.1", 8980), "main")
    assert data.startswith(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
    assert reapi.PATH.encode() in data and b"application/grpc" in data
    assert reapi.METADATA_HEADER.encode() in data  # Bazel's own worker refuses a call without
    assert data.endswith(b"\x00\x00\x00\x00\x06\x0a\x04main")  # gRPC frame: instance_name
