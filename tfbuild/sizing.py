"""How many compile jobs this machine can run without the kernel killing compilers
(`gcc: fatal error: Killed signal terminated program cc1plus`)."""

from __future__ import annotations

import math

from tfbuild import pins
from tfbuild.discovery.facts import Machine


def recommended_jobs(machine: Machine, cuda: bool) -> int:
    sizing = pins.machine()
    per_job = sizing.ram_gib_per_job_cuda if cuda else sizing.ram_gib_per_job_cpu
    by_memory = math.floor(machine.mem_total_gib / per_job) if machine.mem_total_gib else 1
    return max(1, min(machine.cpu_count, by_memory))


def disk_needed_gib(cuda: bool) -> float:
    sizing = pins.machine()
    return sizing.disk_gib_cuda if cuda else sizing.disk_gib_cpu


def place_need_gib(place: str, cuda: bool, *, disk_cache_max_gib: float = 0.0,
                   disk_cache_used_gib: float = 0.0, cuda_redist_gib: float | None = None
                   ) -> float:
    """What a build of this profile will still write to one of tfbuild's places. For the
    repository cache of a CUDA build, NVIDIA's redistributions are counted from their JSON
    (`cuda_redist_gib`) when known, on top of the CPU build's archives."""
    figures = pins.disk()
    kind = "cuda" if cuda else "cpu"
    if place == "repository cache" and cuda and cuda_redist_gib is not None:
        return figures["repository_gib_cpu"] + cuda_redist_gib
    if place == "output root":
        return disk_needed_gib(cuda)
    if place == "disk cache":
        if disk_cache_max_gib:
            return max(0.0, disk_cache_max_gib - disk_cache_used_gib)
        return disk_needed_gib(cuda)  # unbounded: each build may add about its outputs
    if place == "repository cache":
        return figures[f"repository_gib_{kind}"]
    if place == "dist":
        return figures[f"dist_gib_{kind}"]
    if place == "logs":
        return figures["logs_gib"]
    return 0.0
