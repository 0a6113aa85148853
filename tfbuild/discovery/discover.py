"""Discovery: everything that touches the machine, in one place. It returns Facts; checks and
renderers are pure functions of Settings and Facts."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path

from tfbuild.discovery import (bazelisk_cache, cuda, disk, probecache, system,
                               tlsnative, toolchain)
from tfbuild.discovery.facts import Facts
from tfbuild.paths import action_path_dirs, cuda_shim_dir, expand
from tfbuild.runner import Runner
from tfbuild.settings.model import Settings


def discover(settings: Settings, *, source_dir: Path | None, runner: Runner | None = None,
             env: Mapping[str, str] | None = None, network_probes: bool = False,
             cache: Path | None = None) -> Facts:
    """`cache`: the probe cache file (probecache); None probes everything afresh."""
    with probecache.using(cache):
        return _discover(settings, source_dir=source_dir, runner=runner, env=env,
                         network_probes=network_probes)


def _discover(settings: Settings, *, source_dir: Path | None, runner: Runner | None,
              env: Mapping[str, str] | None, network_probes: bool) -> Facts:
    env = dict(os.environ if env is None else env)
    runner = runner or Runner(echo=False)
    tc = settings.toolchain
    clang = toolchain.find_clang(runner, explicit=tc.clang_path, prefix=tc.clang_prefix,
                                 major=tc.clang_major, env=env)
    python = toolchain.find_python(runner, tc.python, env, tc.python_version)
    if settings.cuda.enabled and python.version:
        python = dataclasses.replace(
            python, nvidia_packages=toolchain.nvidia_packages(runner, python.path) or ())
    local_cuda, cuda_candidates = (cuda.find_cuda(runner, local_path=settings.cuda.local_cuda_path,
                                                  site_packages=python.site_packages, env=env)
                                   if settings.cuda.enabled else (None, ()))
    # Tools the build's actions run are looked up where the actions will look: in their PATH.
    action_dirs = action_path_dirs(ptxas=local_cuda.ptxas if local_cuda else None,
                                   clang=clang.bazel_path or clang.path,
                                   extra=tuple(settings.build.action_path_dirs))
    facts = dict(
        clang=clang,
        lld=toolchain.find_lld(runner, clang, tc.clang_major, env, ":".join(action_dirs)),
        gcc=toolchain.find_versioned(runner, "gcc", tc.gcc_major, env),
        gxx=toolchain.find_versioned(runner, "g++", tc.gcc_major, env),
        home_rc=system.home_rc(env),
        bazelisk_base_url=bazelisk_cache.base_url(source_dir, env),
        patchelf=toolchain.find_patchelf(runner, {"PATH": ":".join(action_dirs)}),
        patchelf_elsewhere=toolchain.which_program("patchelf", env),
        bazel=toolchain.find_bazel(runner, explicit=tc.bazel, source_dir=source_dir, env=env),
        python=python,
        machine=system.machine(expand(settings.build.output_user_root or "~")),
        source=system.source_tree(runner, source_dir) if source_dir else None,
        ld_library_path=tuple(p for p in env.get("LD_LIBRARY_PATH", "").split(":") if p),
        path=tuple(p for p in env.get("PATH", "").split(":") if p),
        key_places=system.key_places(source_dir, env),
        cuda_shim=(str(cuda_shim_dir(source_dir, settings.cuda.local_cuda_path))
                   if source_dir else ""),
        netty_tcnative=tlsnative.debian_tcnative(),
    )
    if settings.cuda.enabled:
        roots = [c.root for c in (local_cuda, *cuda_candidates) if c and c.layout != "pip"]
        local_cudnn, cudnn_candidates = cuda.find_cudnn(
            local_path=settings.cuda.local_cudnn_path, cuda_roots=roots,
            site_packages=python.site_packages, runner=runner)
        facts.update(
            cuda=local_cuda, cuda_candidates=cuda_candidates,
            path_ptxas=cuda.path_ptxas(runner, env),
            cudnn=local_cudnn, cudnn_candidates=cudnn_candidates,
            nccl_path_exists=bool(settings.cuda.local_nccl_path)
            and os.path.isdir(settings.cuda.local_nccl_path),
        )
    facts["gpus"] = system.find_gpus(runner, env)
    facts["filesystems"] = disk.filesystems_fact(settings, source_dir)
    if network_probes:
        from tfbuild.discovery import \
            network  # requests: loaded only when probing the network

        facts.update(network=network.probe_all(settings), network_checked=True)
    return Facts(**facts)
