"""Jinja2 for the pages (pyramid_jinja2), with the filters the pages share: times and durations.

Times are stored and rendered in UTC; ``static/site.js`` rewrites them in the viewer's
time zone (and keeps "ago" current), so the pages read right without it too.
"""

from collections.abc import Callable
from typing import Any

from markupsafe import Markup, escape
from pyramid_jinja2 import ENV_CONFIG_PHASE

from .models.meta import utcnow
from .text import counted, duration, iso, percent


def when(moment, seconds=False):
    """A time, as the viewer's local time once the script runs (UTC until then); to the second when
    ``seconds`` (checks made more often than once a minute)."""
    if moment is None:
        return "never"
    shown, kind = (f"{moment:%Y-%m-%d %H:%M:%S}", "seconds") if seconds else (f"{moment:%Y-%m-%d %H:%M}", "")
    return Markup(f'<time datetime="{iso(moment, "seconds")}" data-local="{kind}">{shown} UTC</time>')


def ago(moment, now=None):
    """How long ago, kept current by the script; the exact time on hover."""
    if moment is None:
        return "never"
    text = duration(((now or utcnow()) - moment).total_seconds()) + " ago"
    return Markup(
        f'<time datetime="{iso(moment, "seconds")}" data-ago title="{moment:%Y-%m-%d %H:%M:%S} UTC">'
        f"{escape(text)}</time>"
    )


FILTERS = {"when": when, "ago": ago, "duration": duration, "percent": percent, "counted": counted}


def add_to_templates(config: Any, filters: dict[str, Callable[..., Any]] | None = None, **values: Any) -> None:
    """Give every page's template ``filters`` ({name: function}) and ``values`` (names it may read), once
    the Jinja2 environment exists: an area lends the pages of others what they show of it."""

    def add() -> None:
        environment = config.get_jinja2_environment()
        environment.filters.update(filters or {})
        environment.globals.update(values)

    config.action(None, add, order=ENV_CONFIG_PHASE + 1)


def includeme(config):
    config.include("pyramid_jinja2")
    add_to_templates(config, FILTERS)
