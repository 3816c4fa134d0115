"""Peer: myapp's real API endpoints as a user would write them with sync Pyramid, the sync SQLAlchemy
ORM and PyMySQL: the same tables (myapp.models), the same statements, the same JSON.

    python -m bench.peers.pyramid_sync_app PORT DATABASE_URL

GET /api/users/me (API key -> user), GET /api/monitors?limit=50 (a page with uptimes and
channels), POST /api/monitors (validate, count, insert, commit).  What it leaves out of
myapp's path (sessions and CSRF, security headers, request ids, metrics, deadlines) is
what a bare app would leave out too: the comparison is the whole cost of each framework.
"""

import json
import sys

import waitress
from pydantic import ValidationError
from pyramid.config import Configurator
from pyramid.httpexceptions import HTTPUnauthorized, HTTPUnprocessableEntity
from pyramid.response import Response
from sqlalchemy import case, create_engine, func, select
from sqlalchemy.orm import Session

from myapp.accounts.api import user_json
from myapp.accounts.service import TOKEN_PREFIX
from myapp.checks.results import DAY, HOUR, day_of, hour_of
from myapp.identity import token_hash
from myapp.models import ApiKey, DailyRollup, HourlyRollup, Monitor, MonitorChannel, User
from myapp.models.meta import utcnow
from myapp.monitors.api import monitor_json, ping_base, shown
from myapp.monitors.schema import MonitorBody
from myapp.monitors.service import percent

from ..queries import THREADS


def identity(request):
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.startswith(TOKEN_PREFIX):
        raise HTTPUnauthorized()
    row = request.db.execute(
        select(User, ApiKey)
        .join(ApiKey.user)
        .where(ApiKey.token_hash == token_hash(token), ApiKey.revoked_at.is_(None))
    ).first()
    if row is None:
        raise HTTPUnauthorized()
    return row[0]


def me(request):
    return user_json(request.db.get(User, identity(request).id))


def uptimes(session, ids):
    found = {i: {"24h": None, "7d": None, "30d": None} for i in ids}
    if not ids:
        return found
    now = utcnow()
    since_7d, since_30d = day_of(now) - 6 * DAY, day_of(now) - 29 * DAY
    for monitor_id, checks, passes in session.execute(
        select(HourlyRollup.monitor_id, func.sum(HourlyRollup.checks), func.sum(HourlyRollup.passes))
        .where(HourlyRollup.monitor_id.in_(ids), HourlyRollup.period >= hour_of(now) - 23 * HOUR)
        .group_by(HourlyRollup.monitor_id)
    ):
        found[monitor_id]["24h"] = percent(passes, checks)
    recent = DailyRollup.period >= since_7d
    for monitor_id, checks_7d, passes_7d, checks, passes in session.execute(
        select(
            DailyRollup.monitor_id,
            func.sum(case((recent, DailyRollup.checks), else_=0)),
            func.sum(case((recent, DailyRollup.passes), else_=0)),
            func.sum(DailyRollup.checks),
            func.sum(DailyRollup.passes),
        )
        .where(DailyRollup.monitor_id.in_(ids), DailyRollup.period >= since_30d)
        .group_by(DailyRollup.monitor_id)
    ):
        found[monitor_id]["7d"], found[monitor_id]["30d"] = percent(passes_7d, checks_7d), percent(passes, checks)
    return found


def list_monitors(request):
    user = identity(request)
    limit = int(request.GET.get("limit", 50))
    monitors = list(
        request.db.scalars(select(Monitor).where(Monitor.user_id == user.id).order_by(Monitor.id).limit(limit + 1))
    )
    more, monitors = len(monitors) > limit, monitors[:limit]
    ids = [m.id for m in monitors]
    uptime = uptimes(request.db, ids)
    channels = {i: [] for i in ids}
    for monitor_id, channel_id in request.db.execute(
        select(MonitorChannel.monitor_id, MonitorChannel.channel_id).where(MonitorChannel.monitor_id.in_(ids))
    ):
        channels[monitor_id].append(channel_id)
    return {
        "monitors": [monitor_json(shown(m), uptime[m.id], channels[m.id], ping_base(request)) for m in monitors],
        "next_cursor": str(monitors[-1].id) if more else None,
    }


def create_monitor(request):
    user = identity(request)
    try:
        fields = MonitorBody.model_validate(json.loads(request.body), context={"min_interval": 30}).model_dump()
    except ValidationError as exc:
        raise HTTPUnprocessableEntity(str(exc)) from None
    fields.pop("channels")
    request.db.scalar(select(func.count()).where(Monitor.user_id == user.id))  # the per-user limit, as myapp
    now = utcnow()
    monitor = Monitor(
        user_id=user.id,
        **fields,
        created_at=now,
        updated_at=now,
        version=0,
        fail_streak=0,
        pass_streak=0,
        recent="",
        state="PAUSED" if fields["paused"] else "PENDING",
        state_since=now,
    )
    request.db.add(monitor)
    request.db.flush()
    body = monitor_json(shown(monitor), {"24h": None, "7d": None, "30d": None}, [], ping_base(request))
    request.db.commit()
    return Response(json_body=body, status=201)


def make_app(url):
    engine = create_engine(url, pool_size=THREADS, max_overflow=0)

    def db(request):
        session = Session(engine, expire_on_commit=False)
        request.add_finished_callback(lambda request: session.close())
        return session

    with Configurator() as config:
        config.add_request_method(db, reify=True)
        config.add_route("ready", "/ready")
        config.add_view(lambda request: "ready", route_name="ready", renderer="string")
        config.add_route("me", "/api/users/me")
        config.add_route("monitors", "/api/monitors")
        config.add_view(me, route_name="me", renderer="json", request_method="GET")
        config.add_view(list_monitors, route_name="monitors", renderer="json", request_method="GET")
        config.add_view(create_monitor, route_name="monitors", request_method="POST")
    return config.make_wsgi_app()


if __name__ == "__main__":
    waitress.serve(make_app(sys.argv[2]), host="127.0.0.1", port=int(sys.argv[1]), threads=THREADS, _quiet=True)
