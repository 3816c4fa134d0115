"""Charts drawn on the server as SVG: the geometry, computed here; the markup is in the templates.

A latency chart: a line of latency over time, failed checks marked (a cross, not only a
colour), DOWN periods shaded and labelled, axes with ticks and labels.  A sparkline:
the latest checks of a monitor, from its ``recent`` column.
"""

import dataclasses
import datetime
import math

WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 52, 12, 12, 28  # room for the axis labels


@dataclasses.dataclass
class Point:
    at: datetime.datetime
    latency_ms: float | None  # None: no passing check in this slot
    failed: int = 0  # failed checks in this slot
    checks: int = 1


def nice_ceiling(value):
    """A round number at or above ``value`` (for the top of the latency axis)."""
    if value <= 0:
        return 100
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def latency_chart(points, start, end, down_periods=(), now=None):
    """The geometry of a latency chart between ``start`` and ``end`` (UTC), for the template."""
    span = (end - start).total_seconds() or 1
    top = nice_ceiling(max((p.latency_ms for p in points if p.latency_ms is not None), default=0) * 1.1)
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(moment):
        return round(LEFT + inner_w * min(max((moment - start).total_seconds() / span, 0), 1), 1)

    def y(ms):
        return round(TOP + inner_h * (1 - min(ms / top, 1)), 1)

    lines, current = [], []
    for point in points:
        if point.latency_ms is None:
            if current:
                lines.append(" ".join(current))
                current = []
            continue
        current.append(f"{x(point.at)},{y(point.latency_ms)}")
    if current:
        lines.append(" ".join(current))
    failures = [{"x": x(p.at), "y": TOP + inner_h - 6, "count": p.failed, "at": p.at} for p in points if p.failed]
    shaded = []
    for begin, finish in down_periods:
        left, right = x(max(begin, start)), x(min(finish or now or end, end))
        if right > left or finish is None:
            shaded.append({"x": left, "width": max(right - left, 2), "begin": begin, "end": finish})
    y_ticks = [{"y": y(top * n / 4), "label": f"{top * n / 4:g} ms"} for n in range(5)]
    x_ticks = []
    hours = span / 3600
    step = datetime.timedelta(hours=3 if hours <= 24 else 24 if hours <= 24 * 8 else 24 * 5)
    tick = start.replace(minute=0, second=0, microsecond=0)
    if step >= datetime.timedelta(days=1):
        tick = tick.replace(hour=0)
    while tick <= end:
        if tick >= start:
            x_ticks.append({"x": x(tick), "at": tick, "label": tick.strftime("%H:%M" if hours <= 24 else "%b %d")})
        tick += step
    return {"width": WIDTH, "height": HEIGHT, "left": LEFT, "right": WIDTH - RIGHT, "top": TOP,
            "bottom": HEIGHT - BOTTOM, "lines": lines, "failures": failures, "down": shaded,
            "y_ticks": y_ticks, "x_ticks": x_ticks, "empty": not points}


def sparkline(recent, width=120, height=24):
    """A monitor's latest checks (its ``recent`` column) as a polyline and failure marks."""
    points = [p for p in recent.split(",") if p] if recent else []
    if not points:
        return None
    values = [(p[0] if p[0] in "!~" else "", int(p.lstrip("!~"))) for p in points]
    top = max(v for _, v in values) or 1
    step = width / max(len(values) - 1, 1)
    coords = [(round(n * step, 1), round(height - 2 - (height - 6) * v / top, 1)) for n, (_, v) in enumerate(values)]
    return {"width": width, "height": height,
            "line": " ".join(f"{cx},{cy}" for cx, cy in coords),
            "failures": [cx for (cx, _), (mark, _) in zip(coords, values) if mark == "!"],
            "failed": sum(1 for mark, _ in values if mark == "!"), "checks": len(values)}
