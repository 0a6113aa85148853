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
