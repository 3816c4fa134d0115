"""Jinja2 for the pages (pyramid_jinja2), with the filters the pages share: times and durations.

Times are stored and rendered in UTC; ``static/site.js`` rewrites them in the viewer's
time zone (and keeps "ago" current), so the pages read right without it too.
"""

from markupsafe import Markup, escape
from pyramid_jinja2 import ENV_CONFIG_PHASE

from .models.meta import utcnow


def iso(moment):
    return moment.isoformat(timespec="seconds") + "Z"


def when(moment):
    """A time, as the viewer's local time once the script runs (UTC until then)."""
    if moment is None:
        return "never"
    return Markup(f'<time datetime="{iso(moment)}" data-local>{moment:%Y-%m-%d %H:%M} UTC</time>')


def duration(seconds):
    """Seconds as a person says them: "45 s", "3 min 12 s", "2 h 5 min", "4 d 3 h"."""
    seconds = int(max(seconds, 0))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def ago(moment, now=None):
    """How long ago, kept current by the script; the exact time on hover."""
    if moment is None:
        return "never"
    text = duration(((now or utcnow()) - moment).total_seconds()) + " ago"
    return Markup(f'<time datetime="{iso(moment)}" data-ago title="{moment:%Y-%m-%d %H:%M:%S} UTC">'
                  f"{escape(text)}</time>")


def percent(value):
    return "no data" if value is None else f"{value:.2f}%".replace(".00%", "%")


FILTERS = {"when": when, "ago": ago, "duration": duration, "percent": percent}


def includeme(config):
    config.include("pyramid_jinja2")

    def add_filters():
        config.get_jinja2_environment().filters.update(FILTERS)

    config.action(None, add_filters, order=ENV_CONFIG_PHASE + 1)
