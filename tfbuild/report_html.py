"""A build's account as one self-contained HTML page (pure: data in, text out).

No script, no font, no stylesheet or image from anywhere: the CSS is inline and the timeline is
an inline SVG drawn here, so the page opens from a file on a machine without a network. Every
string reaching the page is masked (secrets.mask_data) and HTML-escaped (Jinja2 autoescape).

The timeline comes from Bazel's JSON trace profile (`--profile`): each "action processing"
complete event is a bar on the lane of the thread that ran it (named by the profile's
`thread_name` metadata), each "critical path component" a bar on the critical-path lane.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import jinja2

from tfbuild import resources, secrets

ACTION_CATEGORY = "action processing"
CRITICAL_CATEGORY = "critical path component"
WIDTH = 960  # the timeline's drawing width in px
LANE = 16
MAX_BARS = 20_000  # beyond it, the shortest bars (under a pixel) are left out, and the page says so
PALETTE = ("#4e79a7", "#59a14f", "#9c755f", "#b07aa1", "#76b7b2", "#edc948", "#ff9da7", "#bab0ac")
CRITICAL_COLOR = "#e4572e"  # the critical path's bars: the tests find the timeline by this color


@dataclass(frozen=True)
class Bar:
    lane: int
    start_s: float
    seconds: float
    name: str
    mnemonic: str
    critical: bool = False


@dataclass(frozen=True)
class Timeline:
    lanes: tuple[str, ...]  # lane 0 is the critical path
    bars: tuple[Bar, ...]
    total_s: float
    left_out: int = 0


def timeline(document: object) -> Timeline:
    """The timeline of a JSON trace profile ({"traceEvents": [...]} or a bare list)."""
    events = document.get("traceEvents", ()) if isinstance(document, Mapping) else document
    names: dict[object, str] = {}
    raw: list[tuple[object, float, float, str, str, bool]] = []
    for event in events or ():
        if not isinstance(event, Mapping):
            continue
        if event.get("ph") == "M" and event.get("name") == "thread_name":
            args = event.get("args") if isinstance(event.get("args"), Mapping) else {}
            names[event.get("tid")] = str(args.get("name", ""))
        if event.get("ph") != "X" or event.get("cat") not in (ACTION_CATEGORY, CRITICAL_CATEGORY):
            continue
        try:
            start, dur = float(event.get("ts", 0)) / 1e6, float(event.get("dur", 0)) / 1e6
        except (TypeError, ValueError):
            continue
        args = event.get("args") if isinstance(event.get("args"), Mapping) else {}
        raw.append((event.get("tid"), start, dur, str(event.get("name", "")),
                    str(args.get("mnemonic", "")), event.get("cat") == CRITICAL_CATEGORY))
    if not raw:
        return Timeline(("critical path",), (), 0.0)
    origin = min(r[1] for r in raw)
    total = max(r[1] + r[2] for r in raw) - origin
    threads = sorted({r[0] for r in raw if not r[5]}, key=lambda t: (str(type(t)), t))
    lane_of = {tid: i + 1 for i, tid in enumerate(threads)}
    lanes = ("critical path", *(names.get(t) or f"thread {t}" for t in threads))
    bars = [Bar(0 if crit else lane_of[tid], start - origin, dur, name, mnemonic, crit)
            for tid, start, dur, name, mnemonic, crit in raw]
    left_out = 0
    if len(bars) > MAX_BARS and total > 0:
        floor = total / WIDTH
        kept = [b for b in bars if b.critical or b.seconds >= floor]
        left_out, bars = len(bars) - len(kept), kept
    return Timeline(lanes, tuple(bars), total, left_out)


def _color(mnemonic: str) -> str:
    return PALETTE[zlib.crc32(mnemonic.encode()) % len(PALETTE)]


def svg_bars(line: Timeline) -> list[dict]:
    """Each bar's rectangle, in px."""
    scale = WIDTH / line.total_s if line.total_s > 0 else 0.0
    return [{"x": round(b.start_s * scale, 2), "y": b.lane * LANE + 2,
             "w": max(round(b.seconds * scale, 2), 1.0), "h": LANE - 4,
             "fill": CRITICAL_COLOR if b.critical else _color(b.mnemonic),
             "title": f"{b.name} ({b.mnemonic}) {b.seconds:.2f} s" if b.mnemonic
             else f"{b.name} {b.seconds:.2f} s"} for b in line.bars]


def ticks(total_s: float, count: int = 6) -> list[dict]:
    if total_s <= 0:
        return []
    digits = 2 if total_s < count else 1 if total_s < 10 * count else 0  # labels that differ
    return [{"x": round(WIDTH * i / count, 1), "label": f"{total_s * i / count:.{digits}f} s",
             "anchor": "start" if i == 0 else "end" if i == count else "middle"}
            for i in range(count + 1)]


@functools.lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(resources.path("templates"))),
                              undefined=jinja2.StrictUndefined, autoescape=True,
                              keep_trailing_newline=True)


def render(*, title: str, facts: Sequence[tuple[str, str]], account: Mapping,
           line: Timeline, causes: Sequence[Mapping] = (), compared_with: str = "") -> str:
    """The page. `facts`: (label, value) rows of the header; `account`: the manifest's
    run.account; `causes`: explain's causes (kind, name, a, b, actions, examples, from)."""
    data = secrets.mask_data({
        "title": title, "facts": [list(f) for f in facts], "account": dict(account),
        "bars": svg_bars(line), "lanes": list(line.lanes), "ticks": ticks(line.total_s),
        "causes": [dict(c) for c in causes], "compared_with": compared_with,
    })
    actions = (data["account"].get("actions") or {})
    counts = [(label, actions.get(key)) for label, key in (
        ("executed locally", "executed_locally"), ("executed remotely", "executed_remotely"),
        ("remote cache hits", "remote_cache_hits"), ("disk cache hits", "disk_cache_hits"),
        ("cache hits (disk or remote)", "cache_hits_disk_or_remote"), ("internal", "internal"))
        if actions.get(key)]
    hits = sum(actions.get(k) or 0 for k in ("remote_cache_hits", "disk_cache_hits",
                                             "cache_hits_disk_or_remote"))
    ran = hits + sum(actions.get(k) or 0 for k in ("executed_locally", "executed_remotely"))
    return _environment().get_template("report.html.j2").render(
        **data, counts=counts, hit_rate=(f"{hits / ran:.0%}" if ran else "n/a"),
        width=WIDTH, lane=LANE, height=len(line.lanes) * LANE, left_out=line.left_out,
        critical_color=CRITICAL_COLOR)
