"""The data layer: an async SQLAlchemy engine per event loop and one unit of work per request.

``request.dbsession`` is an AsyncSession bound to the engine of the loop the
request runs on.  The unit-of-work tween commits it when the view returns
normally, rolls it back when the view raises, and it is closed always.
"""

from pyramid.settings import asbool

from .account import ApiKey, LoginFailure, User
from .engine import engine_options, open_engine
from .meta import Base
from .schema import upgrade
from .unit_of_work import get_dbsession, run_in_session

__all__ = ["ApiKey", "Base", "LoginFailure", "User", "get_dbsession", "includeme", "run_in_session"]


def includeme(config):
    settings = config.get_settings()
    url = settings.get("sqlalchemy.url", "").strip()
    if not url:
        raise ValueError("set sqlalchemy.url in the ini file, or the MYAPP_DATABASE_URL environment variable")
    options = engine_options(url, settings)
    config.add_cleanup_ctx(open_engine(url, options))
    config.add_request_method(get_dbsession, "dbsession", reify=True)
    config.add_tween("myapp.models.unit_of_work.unit_of_work_tween_factory", under="pyramid.tweens.excview_tween_factory")
    if asbool(settings.get("myapp.create_schema", "false")):
        upgrade(settings)
