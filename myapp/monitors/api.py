"""JSON API: monitors, their results and incidents, checks on demand, and the ad-hoc probe."""

import asyncio

from pyramid.httpexceptions import HTTPConflict, HTTPNoContent, HTTPTooManyRequests
from pyramid.view import view_config

from ..accounts import service as accounts
from ..api.contract import Patch
from ..text import iso
from ..validation import Error, PageQuery
from . import service
from .checker import Target, check
from .rules import Expectations
from .schema import (
    FIELDS,
    CheckResult,
    IncidentPage,
    IncidentQuery,
    Monitor,
    MonitorBody,
    MonitorPage,
    MonitorQuery,
    Probe,
    ProbeResults,
    ResultPage,
    validate_patch,
)

#: a check may take the monitor's timeout (at most 60 s), more than aio.timeout allows a request
CHECK_DEADLINE = 70


def result_json(result):
    if result is None:
        return None
    return {
        "at": iso(result.at),
        "ok": result.ok,
        "status_code": result.status_code,
        "latency_ms": result.latency_ms,
        "error": result.error,
    }


#: what the API shows of a monitor (monitor_json): a list reads these columns and no others
SHOWN_NAMES = (
    "id",
    *FIELDS,
    "state",
    "state_since",
    "last_check_at",
    "last_ok",
    "last_status_code",
    "last_latency_ms",
    "last_error",
    "created_at",
    "updated_at",
)
SHOWN = tuple(service.monitors.c[name] for name in SHOWN_NAMES)


def shown(monitor):
    """SHOWN's values by name, of a monitor with them as attributes (an ORM object, a new row)."""
    return {name: getattr(monitor, name) for name in SHOWN_NAMES}


def monitor_json(m, uptime, channels):
    """The API's monitor, from ``m``: SHOWN's values by name (a row of SHOWN is ``dict(zip(SHOWN_NAMES, row))``)."""
    last = (
        None
        if m["last_check_at"] is None
        else {
            "at": iso(m["last_check_at"]),
            "ok": m["last_ok"],
            "status_code": m["last_status_code"],
            "latency_ms": m["last_latency_ms"],
            "error": m["last_error"],
        }
    )
    return {
        "id": m["id"],
        **{name: m[name] for name in FIELDS},
        "channels": channels,
        "state": m["state"],
        "state_since": iso(m["state_since"]),
        "last_check": last,
        "uptime": uptime,
        "created_at": iso(m["created_at"]),
        "updated_at": iso(m["updated_at"]),
    }


def incident_json(incident):
    return {
        "id": incident.id,
        "monitor_id": incident.monitor_id,
        "started_at": iso(incident.started_at),
        "ended_at": iso(incident.ended_at),
        "cause": incident.cause,
    }


async def one_monitor_json(request, monitor):
    uptime = (await service.uptimes(request.dbsession, [monitor.id]))[monitor.id]
    channels = (await service.channels_of(request.dbsession, [monitor.id]))[monitor.id]
    return monitor_json(shown(monitor), uptime, channels)


def channels_of(values):
    return list(dict.fromkeys(values)) if values is not None else None


@view_config(
    route_name="api.monitors",
    request_method="GET",
    renderer="json",
    permission="view",
    query=MonitorQuery,
    responses={200: MonitorPage},
)
async def list_monitors(request):
    """The caller's monitors by id, a page at a time; ``state`` and ``q`` filter them."""
    query = request.api_query
    monitors, next_cursor = await service.list_monitors(
        request.dbsession, request.context.owner_id, SHOWN, query.limit, query.cursor, query.state, query.q or None
    )
    monitors = [dict(zip(SHOWN_NAMES, row)) for row in monitors]
    ids = [m["id"] for m in monitors]
    uptime = await service.uptimes(request.dbsession, ids)
    channels = await service.channels_of(request.dbsession, ids)
    return {
        "monitors": [monitor_json(m, uptime[m["id"]], channels[m["id"]]) for m in monitors],
        "next_cursor": str(next_cursor) if next_cursor else None,
    }


@view_config(
    route_name="api.monitors",
    request_method="POST",
    renderer="json",
    permission="edit",
    body=MonitorBody,
    responses={201: Monitor, 409: Error},
)
async def create_monitor(request):
    """A new monitor, checked from now on (unless paused)."""
    fields = request.api_body.model_dump()
    channels = channels_of(fields.pop("channels")) or []
    try:
        monitor = await service.create_monitor(
            request.dbsession, request.context.owner_id, fields, request.registry.monitors.max_per_user
        )
    except service.TooManyMonitors as exc:
        raise HTTPConflict(f"You have {exc.limit} monitors, the most allowed; delete one first.") from None
    await service.set_channels(request.dbsession, request.context.owner_id, monitor.id, channels, new=True)
    request.response.status = 201
    request.response.headers["Location"] = request.route_url("api.monitor", monitor_id=monitor.id)
    return monitor_json(vars(monitor), {"24h": None, "7d": None, "30d": None}, channels)


@view_config(
    route_name="api.monitor", request_method="GET", renderer="json", permission="view", responses={200: Monitor}
)
async def get_monitor(request):
    """One monitor, with its state, last check and uptime."""
    return await one_monitor_json(request, request.context.monitor)


@view_config(
    route_name="api.monitor",
    request_method="PATCH",
    renderer="json",
    permission="edit",
    body=Patch(MonitorBody),
    responses={200: Monitor},
)
async def patch_monitor(request):
    """Change some fields; the monitor is checked as a whole (a shorter interval may make the timeout too long)."""
    monitor = request.context.monitor
    current = {name: getattr(monitor, name) for name in FIELDS}
    changes = validate_patch(current, request.api_body, request.registry.validation_context)
    channels = channels_of(changes.pop("channels", None))
    await service.update_monitor(request.dbsession, monitor, changes)
    if channels is not None:
        await service.set_channels(request.dbsession, request.context.owner_id, monitor.id, channels)
    return await one_monitor_json(request, monitor)


@view_config(route_name="api.monitor", request_method="DELETE", permission="delete", responses={204: None})
async def delete_monitor(request):
    """Delete the monitor with its history."""
    await service.delete_monitor(request.dbsession, request.context.monitor)
    return HTTPNoContent()


@view_config(
    route_name="api.monitor.check",
    request_method="POST",
    renderer="json",
    permission="edit",
    async_timeout=CHECK_DEADLINE,
    responses={200: CheckResult},
)
async def check_now(request):
    """Check the monitor now; the result is stored and counts towards its state."""
    monitor = request.context.monitor
    state = request.loop_state
    result = await check(state.http, state.guard, Target.of(monitor))
    await request.registry.monitoring.record(request.dbsession, [service.Outcome(monitor.id, result)])
    return result_json(result)


@view_config(
    route_name="api.monitor.results",
    request_method="GET",
    renderer="json",
    permission="view",
    query=PageQuery,
    responses={200: ResultPage},
)
async def list_results(request):
    """The monitor's checks, newest first."""
    query = request.api_query
    results, next_cursor = await service.list_results(
        request.dbsession, request.context.monitor.id, query.limit, query.cursor
    )
    return {"results": [result_json(r) for r in results], "next_cursor": str(next_cursor) if next_cursor else None}


async def incidents_page(request, monitor_id=None):
    query = request.api_query
    incidents, next_cursor = await service.list_incidents(
        request.dbsession, request.context.owner_id, query.limit, query.cursor, monitor_id, query.open
    )
    return {
        "incidents": [incident_json(i) for i in incidents],
        "next_cursor": str(next_cursor) if next_cursor else None,
    }


@view_config(
    route_name="api.monitor.incidents",
    request_method="GET",
    renderer="json",
    permission="view",
    query=IncidentQuery,
    responses={200: IncidentPage},
)
async def monitor_incidents(request):
    """The monitor's incidents (DOWN to UP), newest first."""
    return await incidents_page(request, request.context.monitor.id)


@view_config(
    route_name="api.incidents",
    request_method="GET",
    renderer="json",
    permission="view",
    query=IncidentQuery,
    responses={200: IncidentPage},
)
async def all_incidents(request):
    """The incidents of all the caller's monitors, newest first."""
    return await incidents_page(request)


@view_config(
    route_name="api.checks",
    request_method="POST",
    renderer="json",
    permission="edit",
    async_timeout=CHECK_DEADLINE,
    body=Probe,
    responses={200: ProbeResults, 429: Error},
)
async def probe(request):
    """Check up to 20 URLs at once, storing nothing: it takes about as long as the slowest."""
    probe = request.api_body
    try:
        await request.registry.throttle.attempt(request.dbsession, {"probe_user": request.context.owner_id})
    except accounts.Throttled as exc:
        raise HTTPTooManyRequests(
            f"Too many probes; try again in {exc.retry_after} seconds.", headers={"Retry-After": str(exc.retry_after)}
        ) from None
    state = request.loop_state
    targets = [Target(url, timeout=probe.timeout, rules=Expectations()) for url in probe.urls]
    results = await asyncio.gather(*(check(state.http, state.guard, t) for t in targets))
    return {
        "results": [
            {"url": t.url, "ok": r.ok, "status_code": r.status_code, "latency_ms": r.latency_ms, "error": r.error}
            for t, r in zip(targets, results)
        ]
    }
