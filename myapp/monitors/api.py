"""JSON API: monitors, their results and incidents, checks on demand, and the ad-hoc probe."""

from pyramid.httpexceptions import (
    HTTPConflict,
    HTTPNoContent,
    HTTPServiceUnavailable,
    HTTPTooManyRequests,
    HTTPUnprocessableEntity,
)
from pyramid.view import view_config

from ..accounts import service as accounts
from ..api.contract import Patch, created, page_of
from ..checks import Monitoring, snapshot
from ..checks.kinds import KINDS
from ..on_demand import Busy, NotStored, OnDemand, Unavailable
from ..services import find
from ..text import iso
from ..validation import Error, PageQuery, validation_context
from . import MonitorSettings, queries, service
from .schema import (
    FIELDS,
    CheckResult,
    CheckRunning,
    IncidentPage,
    IncidentQuery,
    Monitor,
    MonitorBody,
    MonitorPage,
    MonitorQuery,
    PingPage,
    Probe,
    ProbeResults,
    RefusedPage,
    ResultPage,
    validate_patch,
)


def result_json(result, at=True):
    """A check's result as the API shows it (``at=False``: a probe's, which is not stored)."""
    if result is None:
        return None
    return {
        **({"at": iso(result.at)} if at else {}),
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
    "ping_token",
    "created_at",
    "updated_at",
)
SHOWN = tuple(service.monitors.c[name] for name in SHOWN_NAMES)


def shown(monitor):
    """SHOWN's values by name, of a monitor with them as attributes (an ORM object, a new row)."""
    return {name: getattr(monitor, name) for name in SHOWN_NAMES}


def ping_base(request):
    """Where a heartbeat's token is appended to make its ping URL."""
    return request.application_url + "/ping/"


def monitor_json(m, uptime, channels, pings):
    """The API's monitor, from ``m``: SHOWN's values by name (a row of SHOWN is ``dict(zip(SHOWN_NAMES, row))``);
    ``pings``: ping_base."""
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
        "ping_url": pings + m["ping_token"] if not KINDS[m["kind"]].active and m["ping_token"] else None,
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
    return monitor_json(shown(monitor), uptime, channels, ping_base(request))


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
    """The caller's monitors by id, a page at a time; ``state``, ``q`` and ``tag`` filter them as the dashboard's
    search does."""
    query = request.api_query
    monitors, next_cursor = await queries.list_monitors(
        request.dbsession, request.context.owner_id, SHOWN, query.limit, query.cursor, query.state, query.q, query.tag
    )
    monitors = [dict(zip(SHOWN_NAMES, row)) for row in monitors]
    ids = [m["id"] for m in monitors]
    uptime = await service.uptimes(request.dbsession, ids)
    channels = await service.channels_of(request.dbsession, ids)
    pings = ping_base(request)
    return page_of(
        "monitors", [monitor_json(m, uptime[m["id"]], channels[m["id"]], pings) for m in monitors], next_cursor
    )


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
    monitor = await service.create_monitor(
        request.dbsession, request.context.owner_id, fields, find(request.registry, MonitorSettings).max_per_user
    )
    await service.set_channels(request.dbsession, request.context.owner_id, monitor.id, channels, new=True)
    created(request, "api.monitor", monitor_id=monitor.id)
    return monitor_json(vars(monitor), {"24h": None, "7d": None, "30d": None}, channels, ping_base(request))


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
    changes = validate_patch(current, request.api_body, validation_context(request.registry))
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


async def on_demand(request, coro, seconds=None, must_wait=False):
    """(done, result) of a check the caller asked for; 429 when over their budget or with too many in flight,
    503 when it must be waited for and too many requests wait already."""
    try:
        return await find(request.registry, Monitoring).on_demand(request, coro, seconds, must_wait)
    except accounts.Throttled as exc:
        raise HTTPTooManyRequests(
            f"Too many checks on demand; try again in {exc.retry_after} seconds.",
            headers={"Retry-After": str(exc.retry_after)},
        ) from None
    except Busy as exc:
        raise HTTPTooManyRequests(str(exc), headers={"Retry-After": "5"}) from None
    except Unavailable as exc:
        raise HTTPServiceUnavailable(str(exc), headers={"Retry-After": "5"}) from None
    except NotStored as exc:
        raise HTTPUnprocessableEntity(str(exc)) from None


@view_config(
    route_name="api.monitor.check",
    request_method="POST",
    renderer="json",
    permission="edit",
    responses={200: CheckResult, 202: CheckRunning, 409: Error, 422: Error, 429: Error},
)
async def check_now(request):
    """Check the monitor now; the result is stored and counts towards its state.

    The answer waits a few seconds (``monitors.check_wait_seconds``) for the result; a check that takes
    longer goes on, and the answer is 202: its result will be the newest of the monitor's results."""
    monitor = request.context.monitor
    if not KINDS[monitor.kind].active:
        raise HTTPConflict("A heartbeat monitor is checked by its pings: send one to its ping_url.")
    done, result = await on_demand(request, find(request.registry, Monitoring).check_now(snapshot(monitor)))
    if done:
        return result_json(result)
    request.response.status = 202
    request.response.headers["Location"] = request.route_url("api.monitor.results", monitor_id=monitor.id)
    return {
        "status": "running",
        "message": "The check is still running; its result will be stored as the monitor's newest result.",
    }


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
    return page_of("results", [result_json(r) for r in results], next_cursor)


@view_config(
    route_name="api.monitor.pings",
    request_method="GET",
    renderer="json",
    permission="view",
    query=PageQuery,
    responses={200: PingPage},
)
async def list_pings(request):
    """A heartbeat's pings as they came, newest first (kept as long as raw results)."""
    query = request.api_query
    pings, next_cursor = await service.list_pings(
        request.dbsession, request.context.monitor.id, query.limit, query.cursor
    )
    return page_of("pings", [ping_json(p) for p in pings], next_cursor)


@view_config(
    route_name="api.monitor.refused",
    request_method="GET",
    renderer="json",
    permission="view",
    responses={200: RefusedPage},
)
async def list_refused(request):
    """What of the monitor the database would not store (a ping, a check's result), newest first: the 20
    latest, kept as long as raw results.  The rest of their batches was stored."""
    refused = await service.list_write_errors(request.dbsession, request.context.monitor.id)
    return {"refused": [{"at": iso(r.at), "what": r.what, "error": r.error} for r in refused]}


def ping_json(ping):
    return {
        "id": ping.id,
        "at": iso(ping.at),
        **{name: getattr(ping, name) for name in ("event", "exit_status", "duration_ms", "method", "source", "body")},
    }


async def incidents_page(request, monitor_id=None):
    query = request.api_query
    incidents, next_cursor = await service.list_incidents(
        request.dbsession, request.context.owner_id, query.limit, query.cursor, monitor_id, query.open
    )
    return page_of("incidents", [incident_json(i) for i in incidents], next_cursor)


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
    body=Probe,
    responses={200: ProbeResults, 429: Error, 503: Error},
)
async def probe(request):
    """Check up to 20 URLs at once, storing nothing: it takes about as long as the slowest, and at most
    ``monitors.check_wait_seconds`` (a longer ``timeout`` is cut to that)."""
    probe = request.api_body
    timeout = min(probe.timeout, find(request.registry, OnDemand).wait_seconds)
    done, results = await on_demand(
        request, find(request.registry, Monitoring).probe(probe.urls, timeout), timeout + 1, must_wait=True
    )
    if not done:
        raise HTTPServiceUnavailable("The probe took longer than it may; try again.", headers={"Retry-After": "5"})
    return {"results": [{"url": url, **result_json(r, at=False)} for url, r in zip(probe.urls, results)]}
