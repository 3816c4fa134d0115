"""The data layer: an async SQLAlchemy engine per event loop and one unit of work per request.

``request.dbsession`` is an AsyncSession bound to the engine of the loop the
request runs on.  The unit-of-work tween commits it when the view returns
normally, rolls it back when the view raises, and it is closed always.
"""

from collections.abc import Mapping
from typing import Any

from ..settings import NotConfigured, ini_file, read
from .account import ApiKey, ThrottleHit, User, WebSession
from .alert import Channel, MonitorChannel
from .engine import DatabaseSettings, engine_options, open_engine
from .meta import Base
from .monitor import (
    CheckResult,
    DailyRollup,
    HourlyRollup,
    Incident,
    Monitor,
    Ping,
    WriteError,
)
from .schema import check_revision, upgrade
from .unit_of_work import get_dbsession, in_session, run_in_session

__all__ = [
    "ApiKey",
    "Base",
    "Channel",
    "CheckResult",
    "DailyRollup",
    "HourlyRollup",
    "Incident",
    "Monitor",
    "MonitorChannel",
    "Ping",
    "ThrottleHit",
    "User",
    "WebSession",
    "WriteError",
    "database_url",
    "get_dbsession",
    "in_session",
    "includeme",
    "run_in_session",
]


def database_url(settings: Mapping[str, Any]) -> str:
    url = read(DatabaseSettings, settings).url
    if not url:
        raise NotConfigured(f"no database: set MYAPP_DATABASE_URL, or sqlalchemy.url in {ini_file(settings)}")
    return url


def includeme(config: Any) -> None:
    settings = config.get_settings()
    url = database_url(settings)
    options = engine_options(url, settings)
    config.add_cleanup_ctx(open_engine(url, options))
    config.add_request_method(get_dbsession, "dbsession", reify=True)
    # a request whose transaction lost to another (conflicts.py) runs again, up to retry.attempts (3) times
    settings.setdefault("retry.activate_hook", "myapp.models.unit_of_work.attempts")
    config.include("pyramid_retry")
    config.add_subscriber("myapp.models.unit_of_work.back_off", "pyramid_retry.IBeforeRetry")
    config.add_tween(
        "myapp.models.unit_of_work.unit_of_work_tween_factory", under="pyramid.tweens.excview_tween_factory"
    )
    if read(DatabaseSettings, settings).create_schema:
        upgrade(settings)
    else:
        check_revision(url, ini_file(settings))
