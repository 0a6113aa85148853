"""Small timing helpers for the bench scripts: every figure is printed next to a baseline
measured in the same run, as a ratio."""

from __future__ import annotations

import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INVOKE = [str(Path(sys.executable).parent / "invoke"), "--search-root", str(ROOT)]


def time_command(argv: Sequence[str], repeat: int = 5, **kwargs) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(list(argv), capture_output=True, **kwargs)
        times.append(time.perf_counter() - start)
    return times


def time_call(fn: Callable[[], object], repeat: int = 5) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def peak_child_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def report(name: str, times: Sequence[float], baseline_name: str, baseline: Sequence[float]) -> None:
    median, base = statistics.median(times), statistics.median(baseline)
    print(f"{name:<40} median {median * 1000:8.1f} ms   {baseline_name}: {base * 1000:8.1f} ms"
          f"   ratio {median / base:6.2f}x")
