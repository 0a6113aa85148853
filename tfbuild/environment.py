"""The environment later steps run with: PATH (the toolkit's own ptxas first), LD_LIBRARY_PATH
(clang's libc++, CUDA, CUPTI, cuDNN), XLA_FLAGS (--xla_gpu_cuda_data_dir) and
TF_ENABLE_ONEDNN_OPTS=0. Computed by configure from discovery, stored once per source tree
(environment.json, plus environment.sh to source in a shell), read by build and smoke-test."""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tfbuild.discovery.facts import Facts
from tfbuild.errors import PreconditionError
from tfbuild.files import write_if_changed
from tfbuild.settings.model import Settings

ENV_JSON, ENV_SH = "environment.json", "environment.sh"


@dataclass(frozen=True)
class BuildEnvironment:
    variables: tuple[tuple[str, str], ...]

    def as_dict(self) -> dict[str, str]:
        return dict(self.variables)

    def get(self, name: str, default: str = "") -> str:
        return self.as_dict().get(name, default)

    def as_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2) + "\n"

    def as_shell(self) -> str:
        lines = ["# Written by tfbuild configure: the environment build and smoke-test use.",
                 "# Use it in a shell with: . environment.sh"]
        lines += [f"export {name}={shlex.quote(value)}" for name, value in self.variables]
        return "\n".join(lines) + "\n"


def _unique(items: Iterable[str | None]) -> list[str]:
    out: list[str] = []
    for item in items:
        if item and item not in out:
            out.append(item)
    return out


def tool_bin_dirs(facts: Facts) -> list[str]:
    dirs = []
    if facts.cuda and facts.cuda.ptxas:
        dirs.append(os.path.dirname(facts.cuda.ptxas))
    clang = facts.clang.bazel_path or facts.clang.path
    if clang:
        dirs.append(os.path.dirname(clang))
    return _unique(dirs)


def library_dirs(facts: Facts) -> list[str]:
    """The notes' LD_LIBRARY_PATH: clang's libc++ runtime, CUDA's lib64, cuDNN's lib (plus
    CUPTI, which a runfile install keeps apart)."""
    cuda = facts.cuda
    return _unique([
        facts.clang.libcxx_runtime_dir,
        os.path.dirname(cuda.cudart) if cuda and cuda.cudart else None,
        os.path.dirname(cuda.cupti_lib) if cuda and cuda.cupti_lib else None,
        facts.cudnn.lib_dir if facts.cudnn else None,
    ])


def cuda_data_dir(settings: Settings, facts: Facts, output_base: Path) -> str:
    """Where XLA finds nvvm/libdevice and ptxas at run time."""
    if settings.cuda.local_cuda_path and facts.cuda:
        return facts.cuda.root
    return str(output_base / "external" / "cuda_nvcc")


def compute(settings: Settings, facts: Facts, *, output_base: Path) -> BuildEnvironment:
    variables = [("PATH", ":".join(_unique([*tool_bin_dirs(facts), *facts.path])))]
    libs = library_dirs(facts)
    if libs:
        variables.append(("LD_LIBRARY_PATH", ":".join(libs)))
    if settings.cuda.enabled:
        data_dir = cuda_data_dir(settings, facts, output_base)
        variables.append(("XLA_FLAGS", f"--xla_gpu_cuda_data_dir={data_dir}"))
    variables.append(("TF_ENABLE_ONEDNN_OPTS", "0"))
    return BuildEnvironment(tuple(variables))


def save(env: BuildEnvironment, state: Path) -> Path:
    state.mkdir(parents=True, exist_ok=True)
    write_if_changed(state / ENV_JSON, env.as_json())
    write_if_changed(state / ENV_SH, env.as_shell())
    return state / ENV_JSON


def load(state: Path) -> BuildEnvironment:
    path = state / ENV_JSON
    if not path.is_file():
        raise PreconditionError(f"no recorded environment at {path}",
                                hint="run `invoke configure` (or `invoke build`) first")
    data = json.loads(path.read_text())
    return BuildEnvironment(tuple((str(k), str(v)) for k, v in data.items()))
