"""Charts drawn on the server: the latency chart's geometry is computed here and its markup is in
the template; the small charts a list page draws by the dozen (sparklines, uptime bars) are built
here whole, as markup of numbers and fixed words only.

A latency chart: a line of latency over time, failed checks marked (a cross, not only a
colour), DOWN periods shaded and labelled, axes with ticks and labels.  A sparkline:
the latest checks of a monitor, from its ``recent`` column.
"""

import dataclasses
import datetime
import math

from markupsafe import Markup

from ..text import percent

WIDTH, HEIGHT = 720, 240
# the latency labels sit inside the plot, above their lines, and the time labels below it: both stay whole
# when a phone draws the chart at half size with larger type (site.css)
LEFT, RIGHT, TOP, BOTTOM = 8, 8, 26, 34
EDGE = 36  # a time label this near either end would be cut in half: its line is drawn without it
#: (the longest chart in hours, minutes between its time lines): 10 min for an hour ... 5 days for 30 days
TICKS = ((1, 10), (6, 60), (24, 180), (24 * 8, 24 * 60), (math.inf, 5 * 24 * 60))


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
        if begin > end or (finish is not None and finish < start):
            continue
        # at least 2 px: an outage of seconds is narrower than a pixel of a day, and must still show
        left, right = x(max(begin, start)), x(min(finish or now or end, end))
        shaded.append({"x": left, "width": max(right - left, 2), "begin": begin, "end": finish})
    y_ticks = [{"y": y(top * n / 4), "label": f"{top * n / 4:g} ms"} for n in range(5)]
    x_ticks = []
    hours = span / 3600
    step = datetime.timedelta(minutes=next(minutes for longest, minutes in TICKS if hours <= longest))
    tick = start.replace(minute=start.minute - start.minute % 10 if hours <= 1 else 0, second=0, microsecond=0)
    if step >= datetime.timedelta(days=1):
        tick = tick.replace(hour=0)
    while tick <= end:
        if tick >= start:
            at = x(tick)
            label = (
                tick.strftime("%H:%M" if hours <= 24 else "%b %d") if LEFT + EDGE <= at <= WIDTH - RIGHT - EDGE else ""
            )
            x_ticks.append({"x": at, "at": tick, "label": label})
        tick += step
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "top": TOP,
        "bottom": HEIGHT - BOTTOM,
        "lines": lines,
        "failures": failures,
        "down": shaded,
        "y_ticks": y_ticks,
        "x_ticks": x_ticks,
        "empty": not points,
    }


def sparkline(recent, width=120, height=24):
    """A monitor's latest checks (its ``recent`` column) as a small SVG: a polyline, failures crossed.

    Built here whole, like the uptime bars: the dashboard draws fifty of them a page.
    """
    points = [p for p in recent.split(",") if p] if recent else []
    if not points:
        return Markup('<span class="muted">no checks yet</span>')
    failed = [p[0] == "!" for p in points]
    values = [int(p.lstrip("!~")) for p in points]
    top = max(values) or 1
    step = width / max(len(values) - 1, 1)
    xs = [n * step for n in range(len(values))]
    line = " ".join(f"{x:.1f},{height - 2 - (height - 6) * v / top:.1f}" for x, v in zip(xs, values))
    marks = "".join(
        f'<path class="fail" d="M{x - 3:.1f},{height - 7} l6,6 m0,-6 l-6,6"/>' for x, bad in zip(xs, failed) if bad
    )
    return Markup(
        f'<svg class="spark" width="{width}" height="{height}" viewBox="0 -2 {width} {height + 2}" '
        f'role="img" aria-label="latest {len(values)} checks, {sum(failed)} failed">'
        f'<polyline points="{line}" fill="none" stroke="currentColor" stroke-width="1.5"/>{marks}</svg>'
    )


#: a day's colour by its uptime, as status pages people know use them: green is a day with (almost) no
#: downtime, red a day that was mostly down, and what lies between shades through amber and orange
DAY_LEVELS = ((99.9, "full"), (99.0, "good"), (95.0, "part"), (80.0, "poor"), (0.0, "low"))


def day_class(pct):
    if pct is None:
        return "none"
    return next(name for floor, name in DAY_LEVELS if pct >= floor)


def uptime_bars(days):
    """A status page's daily bars, [(day, % or None)], as one piece of markup.

    Built here rather than in the template: 50 monitors are 4,500 bars, and a template
    loop with filters costs milliseconds a page.  Each bar's title says its day and
    percentage, so nothing is told by colour alone.
    """
    return Markup(
        "".join(f'<span class="day {day_class(pct)}" title="{day}: {percent(pct)}"></span>' for day, pct in days)
    )
