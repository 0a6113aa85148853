"""How many compile jobs this machine can run without the kernel killing compilers
(`gcc: fatal error: Killed signal terminated program cc1plus`), and the cap on Bazel's JVM.

The memory a build may use is what the machine has *available* now (MemAvailable: the desktop,
browsers and other builds already excluded) less Bazel's JVM heap cap, less headroom for the
large lld links that run together at the end. The figures are pins (tfbuild/data/pins.toml,
[machine]) with their sources; the jobs count (`--local_cpu_resources`) may change from run to
run without discarding Bazel's analysis cache (checked with Bazel 4.2.3), but the JVM cap is a
startup option, so it depends on the profile only, never on a measurement.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from tfbuild import pins
from tfbuild.discovery.facts import Machine
from tfbuild.settings.model import Settings

XMX = re.compile(r"^--host_jvm_args=-Xmx(\d+(?:\.\d+)?)([kKmMgG]?)$")
_UNIT_GIB = {"": 1 / 1024**3, "k": 1 / 1024**2, "m": 1 / 1024, "g": 1.0}


@dataclass(frozen=True)
class Budget:
    """How the recommended job count was reached (for doctor and the README's example)."""

    available_gib: float
    heap_gib: float
    link_headroom_gib: float
    per_job_gib: float
    cpu_count: int
    jobs: int

    def explain(self) -> str:
        return (f"{self.available_gib:.1f} GiB available - {self.heap_gib:g} GiB Bazel heap - "
                f"{self.link_headroom_gib:g} GiB link headroom, {self.per_job_gib:g} GiB per job, "
                f"{self.cpu_count} cores -> {self.jobs} jobs")


def user_heap_gib(startup_options) -> float | None:
    """The -Xmx of a `--host_jvm_args=-Xmx…` in the profile's startup options, in GiB."""
    for option in startup_options:
        match = XMX.match(option)
        if match:
            return float(match.group(1)) * _UNIT_GIB[match.group(2).lower()]
    return None


JVM_DEFAULT_HEAP = 0.25  # OpenJDK's MaxRAMPercentage: without -Xmx the heap may grow to 25% of RAM


@dataclass(frozen=True)
class HeapPlan:
    """Bazel's JVM heap: capped (`-Xmx`) only when memory is short for the compile jobs, and
    never below what TF's analysis needs (the pins' estimate). Decided from the physical RAM and
    the cores, not from what is free now: it is a startup option, and a different one every run
    would restart Bazel's server and lose its analysis cache."""

    cap_gib: float | None  # None: no -Xmx, the JVM's default
    default_gib: float | None  # 25% of the physical RAM, when known
    needed_gib: float  # what TF's analysis needs (estimate, pins [machine])
    reason: str
    from_profile: bool = False

    @property
    def sizing_gib(self) -> float:
        """What the heap may take, for sizing the jobs."""
        if self.cap_gib is not None:
            return self.cap_gib
        return self.default_gib if self.default_gib is not None else self.needed_gib

    def startup_options(self) -> list[str]:
        if self.from_profile or self.cap_gib is None:
            return []
        return [f"--host_jvm_args=-Xmx{self.cap_gib:g}g"]

    def as_dict(self) -> dict:
        return {"cap_gib": self.cap_gib, "jvm_default_gib": self.default_gib,
                "needed_gib": self.needed_gib, "from_profile": self.from_profile,
                "reason": self.reason}


def heap_plan(settings: Settings, machine: Machine | None = None) -> HeapPlan:
    cuda = settings.cuda.enabled
    figures = pins.machine()
    needed = figures.bazel_heap_gib_cuda if cuda else figures.bazel_heap_gib_cpu
    own = user_heap_gib(settings.build.startup_options)
    if own is not None:
        return HeapPlan(own, None, needed, f"the profile's -Xmx ({own:g} GiB, "
                        "build.startup_options)", from_profile=True)
    if machine is None or not machine.mem_total_gib:
        return HeapPlan(needed, None, needed, f"RAM unknown: capped at {needed:g} GiB, what TF's "
                        "analysis needs (estimate)")
    total = machine.mem_total_gib
    default = round(total * JVM_DEFAULT_HEAP, 1)
    if default < needed:
        return HeapPlan(needed, default, needed, f"the JVM's default heap (25% of {total:.0f} GiB "
                        f"= {default:g} GiB) is below what TF's analysis needs: set to {needed:g} "
                        "GiB")
    per_job = figures.ram_gib_per_job_cuda if cuda else figures.ram_gib_per_job_cpu
    link = figures.link_gib_cuda if cuda else figures.link_gib_cpu
    headroom = figures.links_together * max(0.0, link - per_job)
    room = total - headroom - machine.cpu_count * per_job  # heap that leaves every core a job
    if default <= room:
        return HeapPlan(None, default, needed, f"not capped: the JVM's default heap ({default:g} "
                        f"GiB, 25% of {total:.0f} GiB) leaves room for a job on each of the "
                        f"{machine.cpu_count} cores")
    return HeapPlan(needed, default, needed, f"capped at {needed:g} GiB (what TF's analysis "
                    f"needs, estimate): the JVM's default ({default:g} GiB, 25% of "
                    f"{total:.0f} GiB) would take memory from the {machine.cpu_count} cores' "
                    f"jobs ({per_job:g} GiB each)")


def bazel_heap_gib(settings: Settings, machine: Machine | None = None) -> float:
    return heap_plan(settings, machine).sizing_gib


def jvm_startup_options(settings: Settings, machine: Machine | None = None) -> list[str]:
    """`--host_jvm_args=-Xmx<N>g` when heap_plan caps the heap (never with the profile's own)."""
    return heap_plan(settings, machine).startup_options()


def budget(machine: Machine, cuda: bool, heap_gib: float | None = None) -> Budget:
    sizing = pins.machine()
    per_job = sizing.ram_gib_per_job_cuda if cuda else sizing.ram_gib_per_job_cpu
    link = sizing.link_gib_cuda if cuda else sizing.link_gib_cpu
    if heap_gib is None:
        heap_gib = sizing.bazel_heap_gib_cuda if cuda else sizing.bazel_heap_gib_cpu
    # Peak memory is the larger of the compile phase (jobs x per_job) and the link phase, where
    # `links_together` links each take `link` instead of `per_job`: reserve the difference.
    headroom = sizing.links_together * max(0.0, link - per_job)
    available = machine.mem_available_gib or machine.mem_total_gib
    jobs = math.floor((available - heap_gib - headroom) / per_job) if available else 1
    return Budget(available, heap_gib, headroom, per_job, machine.cpu_count,
                  max(1, min(machine.cpu_count, jobs)))


def recommended_jobs(machine: Machine, cuda: bool, heap_gib: float | None = None) -> int:
    return budget(machine, cuda, heap_gib).jobs


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
    if place == "Bazel temp dir":
        return figures[f"wheel_staging_gib_{kind}"]
    return 0.0
