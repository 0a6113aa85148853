"""`build --in-docker` hands the user's request to the build inside the image as flags
(BuildRequest.as_flags): read back by the same command line, they must give the same request,
or the image's plan would differ from the one the user asked for."""

from __future__ import annotations

from pathlib import Path

import pytest
from invoke import Program

from tfbuild import cli
from tfbuild.building.command import BuildRequest
from tfbuild.errors import ConfigError

pytestmark = pytest.mark.unit


def parsed_back(flags: list[str], monkeypatch) -> BuildRequest:
    seen = {}
    monkeypatch.setattr(cli, "_call", lambda target, *args, **kwargs: seen.update(kwargs))
    Program(namespace=cli.ns, name="tfbuild", binary="tfbuild").run(
        ["tfbuild", "build", *flags], exit=False)
    return BuildRequest(jobs=seen["jobs"], bazel_opts=tuple(seen["bazel_opts"]),
                        remote_cache=seen["remote_cache"], keep_going=seen["keep_going"],
                        offline=seen["offline"])


@pytest.mark.parametrize("request_", [
    BuildRequest(),
    BuildRequest(jobs=3, bazel_opts=("--config=cuda_wheel", "--copt=-O2 -g"),
                 remote_cache="grpc://127.0.0.1:8980", keep_going=True, offline=True),
    BuildRequest(bazel_opts=("--define=x=--jobs",), remote_cache="http://cache:8080/a"),
], ids=["nothing", "everything", "tricky-values"])
def test_the_flags_read_back_as_the_same_request(request_, monkeypatch):
    assert parsed_back(request_.as_flags(), monkeypatch) == request_


def test_a_distdir_is_refused_for_the_container():
    with pytest.raises(ConfigError, match="--distdir"):
        BuildRequest(distdir=Path("/carried")).as_flags()
