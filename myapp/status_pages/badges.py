"""Badges: a monitor's state or uptime as a small SVG image anyone may fetch, for a README or a wiki,
when its owner ticks *Public badges*.  They show a word and a number, never the monitor's name or
address; a monitor that is not public, or does not exist, is the same 404.

Each process keeps a monitor's state and uptime for ``status_pages.cache_seconds`` (as it keeps
status pages), and says so to caches (Cache-Control max-age): a README viewed by thousands costs the
database one read of the monitor and its rollups every 30 s.
"""

import unicodedata

from markupsafe import escape
from pyramid.httpexceptions import HTTPNotFound
from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config
from sqlalchemy import select

from ..models import Monitor
from ..monitors import service as monitor_service
from ..monitors.charts import DAY_LEVELS
from ..services import find
from ..text import percent
from .cache import BadgeCache

#: what each badge shows, and the label it has unless the URL gives another
BADGES = {"status": "status", "uptime-24h": "uptime 24h", "uptime-7d": "uptime 7d", "uptime-30d": "uptime 30d"}
STATE_COLOURS = {
    "UP": "#2f8a4a",
    "DOWN": "#c0392b",
    "DEGRADED": "#b7791f",
    "MAINTENANCE": "#3563c9",
    "PENDING": "#6b7685",
    "PAUSED": "#6b7685",
}
#: uptime colours, as the status page's days (charts.DAY_LEVELS): from green at 99.9 % to red
LEVEL_COLOURS = {"full": "#2f8a4a", "good": "#5f9e2f", "part": "#b7950b", "poor": "#d35400", "low": "#c0392b"}
LABEL_COLOUR, NO_DATA = "#4a5361", "#6b7685"
MAX_LABEL = 40


def is_xml_text(text):
    """Whether every character of ``text`` is one XML 1.0 allows in a document (a tab and line breaks aside:
    a label is one line)."""
    return all(
        "\x20" <= c <= "\ud7ff" or "\ue000" <= c <= "\ufffd" or "\U00010000" <= c <= "\U0010ffff" for c in text
    ) and not any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in text)


def text_width(text):
    """About how wide ``text`` is at 11 px in a sans-serif face: narrow letters count less."""
    return sum(3.5 if ch in "ijlI.,:;|!' " else 9.5 if ch in "mwMW%" else 7.0 for ch in text)


def badge_svg(label, value, colour):
    """A flat two-part badge: ``label`` on grey, ``value`` on ``colour`` (both escaped)."""
    left, right = round(text_width(label) + 12), round(text_width(value) + 12)
    width = left + right
    label, value = escape(label), escape(value)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img" '
        f'aria-label="{label}: {value}"><title>{label}: {value}</title>'
        f'<rect width="{left}" height="20" rx="3" fill="{LABEL_COLOUR}"/>'
        f'<rect x="{left - 3}" width="{right + 3}" height="20" rx="3" fill="{colour}"/>'
        f'<rect x="{left - 3}" width="3" height="20" fill="{colour}"/>'
        '<g fill="#fff" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11" text-anchor="middle">'
        f'<text x="{left / 2}" y="14">{label}</text><text x="{left + right / 2}" y="14">{value}</text></g></svg>'
    )


def shown(kind, state, uptime):
    """(value, colour) of a badge of ``kind``."""
    if kind == "status":
        return state, STATE_COLOURS.get(state, NO_DATA)
    pct = uptime[kind.removeprefix("uptime-")]
    if pct is None:
        return "no data", NO_DATA
    level = next(name for floor, name in DAY_LEVELS if pct >= floor)
    return percent(pct), LEVEL_COLOURS[level]


async def public_monitor(request, monitor_id):
    """(state, uptimes) of a monitor with public badges, from this process's cache or the database."""
    cache = find(request.registry, BadgeCache)
    found = cache.get(monitor_id)
    if found is None:
        state = await request.dbsession.scalar(
            select(Monitor.state).where(Monitor.id == monitor_id, Monitor.public_badges.is_(True))
        )
        if state is None:
            raise HTTPNotFound("There is no badge here.")
        found = state, (await monitor_service.uptimes(request.dbsession, [monitor_id]))[monitor_id]
        cache.put(monitor_id, found)
    return found


@view_config(route_name="badge", request_method="GET", permission=NO_PERMISSION_REQUIRED)
async def badge(request):
    kind, monitor_id = request.matchdict["kind"], request.matchdict["monitor_id"]
    if kind not in BADGES:
        raise HTTPNotFound("There is no badge here.")
    label = request.GET.get("label", BADGES[kind])[:MAX_LABEL]
    if not is_xml_text(label):  # a control character, U+FFFE, a lone surrogate: none may be in an SVG
        label = BADGES[kind]
    state, uptime = await public_monitor(request, int(monitor_id))
    response = Response(badge_svg(label, *shown(kind, state, uptime)), content_type="image/svg+xml", charset="utf-8")
    response.cache_control.public = True
    response.cache_control.max_age = max(find(request.registry, BadgeCache).seconds, 0)
    return response
