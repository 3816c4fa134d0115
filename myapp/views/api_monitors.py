"""JSON API: monitors, their results and incidents, checks on demand, and the ad-hoc probe."""

import asyncio

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator
from pyramid.httpexceptions import HTTPConflict, HTTPNoContent, HTTPTooManyRequests
from pyramid.view import view_config

from ..accounts import service as accounts
from ..alerts import service as alerts
from ..alerts.schema import channel_ids
from ..models.monitor import STATES
from ..monitors import service
from ..monitors.checker import Target, check
from ..monitors.rules import Expectations
from ..monitors.schema import FIELDS, check_url, fields_of, validate, validate_patch
from ..validation import Invalid, json_object, page
from . import iso

#: a check may take the monitor's timeout (at most 60 s), more than aio.timeout allows a request
CHECK_DEADLINE = 70


def result_json(result):
    if result is None:
        return None
    return {"at": iso(result.at), "ok": result.ok, "status_code": result.status_code,
            "latency_ms": result.latency_ms, "error": result.error}


def last_check(monitor):
    if monitor.last_check_at is None:
        return None
    return {"at": iso(monitor.last_check_at), "ok": monitor.last_ok, "status_code": monitor.last_status_code,
            "latency_ms": monitor.last_latency_ms, "error": monitor.last_error}


def monitor_json(monitor, uptime, channels):
    return {"id": monitor.id, **{name: getattr(monitor, name) for name in FIELDS}, "channels": channels,
            "state": monitor.state, "state_since": iso(monitor.state_since), "last_check": last_check(monitor),
            "uptime": uptime, "created_at": iso(monitor.created_at), "updated_at": iso(monitor.updated_at)}


def incident_json(incident):
    return {"id": incident.id, "monitor_id": incident.monitor_id, "started_at": iso(incident.started_at),
            "ended_at": iso(incident.ended_at), "cause": incident.cause}


async def one_monitor_json(request, monitor):
    uptime = (await service.uptimes(request.dbsession, [monitor.id]))[monitor.id]
    channels = (await alerts.channels_of(request.dbsession, [monitor.id]))[monitor.id]
    return monitor_json(monitor, uptime, channels)


def take_channels(body):
    """The ``channels`` of a monitor's JSON (ids of the user's channels), which is not a column: None if absent."""
    return channel_ids(body.pop("channels")) if "channels" in body else None


def state_param(value):
    if value.upper() not in STATES:
        raise ValueError(f"one of {', '.join(STATES)}")
    return value.upper()


def text_param(value):
    if len(value) > 200:
        raise ValueError("at most 200 characters")
    return value.strip()


def open_param(value):
    if value.lower() not in ("true", "false"):
        raise ValueError("true or false")
    return value.lower() == "true"


@view_config(route_name="api.monitors", request_method="GET", renderer="json", permission="view")
async def list_monitors(request):
    limit, after, query = page(request.GET, extra={"state": state_param, "q": text_param})
    monitors, next_cursor = await service.list_monitors(request.dbsession, request.context.owner_id, limit, after,
                                                        query.get("state"), query.get("q") or None)
    uptime = await service.uptimes(request.dbsession, [m.id for m in monitors])
    channels = await alerts.channels_of(request.dbsession, [m.id for m in monitors])
    return {"monitors": [monitor_json(m, uptime[m.id], channels[m.id]) for m in monitors],
            "next_cursor": str(next_cursor) if next_cursor else None}


@view_config(route_name="api.monitors", request_method="POST", renderer="json", permission="edit")
async def create_monitor(request):
    body = json_object(request)
    channels = take_channels(body) or []
    fields = validate(body, request.registry.monitors.context)
    try:
        monitor = await service.create_monitor(request.dbsession, request.context.owner_id, fields,
                                               request.registry.monitors.max_per_user)
    except service.TooManyMonitors as exc:
        raise HTTPConflict(f"You have {exc.limit} monitors, the most allowed; delete one first.") from None
    await alerts.set_channels(request.dbsession, request.context.owner_id, monitor.id, channels)
    request.response.status = 201
    request.response.headers["Location"] = request.route_url("api.monitor", monitor_id=monitor.id)
    return monitor_json(monitor, {"24h": None, "7d": None, "30d": None}, channels)


@view_config(route_name="api.monitor", request_method="GET", renderer="json", permission="view")
async def get_monitor(request):
    return await one_monitor_json(request, request.context.monitor)


@view_config(route_name="api.monitor", request_method="PATCH", renderer="json", permission="edit")
async def patch_monitor(request):
    monitor = request.context.monitor
    current = {name: getattr(monitor, name) for name in FIELDS}
    body = json_object(request)
    channels = take_channels(body)
    changes = validate_patch(current, body, request.registry.monitors.context)
    await service.update_monitor(request.dbsession, monitor, changes)
    if channels is not None:
        await alerts.set_channels(request.dbsession, request.context.owner_id, monitor.id, channels)
    return await one_monitor_json(request, monitor)


@view_config(route_name="api.monitor", request_method="DELETE", permission="delete")
async def delete_monitor(request):
    await service.delete_monitor(request.dbsession, request.context.monitor)
    return HTTPNoContent()


@view_config(route_name="api.monitor.check", request_method="POST", renderer="json", permission="edit",
             async_timeout=CHECK_DEADLINE)
async def check_now(request):
    """Check the monitor in this request; the result is stored and counts towards its state."""
    monitor = request.context.monitor
    state = request.loop_state
    result = await check(state.http, state.guard, Target.of(monitor))
    await service.record(request.dbsession, [service.Outcome(monitor.id, result)])
    return result_json(result)


@view_config(route_name="api.monitor.results", request_method="GET", renderer="json", permission="view")
async def list_results(request):
    limit, before, _ = page(request.GET)
    results, next_cursor = await service.list_results(request.dbsession, request.context.monitor.id, limit, before)
    return {"results": [result_json(r) for r in results], "next_cursor": str(next_cursor) if next_cursor else None}


async def incidents_page(request, monitor_id=None):
    limit, before, query = page(request.GET, extra={"open": open_param})
    incidents, next_cursor = await service.list_incidents(
        request.dbsession, request.context.owner_id, limit, before, monitor_id, query.get("open", False))
    return {"incidents": [incident_json(i) for i in incidents],
            "next_cursor": str(next_cursor) if next_cursor else None}


@view_config(route_name="api.monitor.incidents", request_method="GET", renderer="json", permission="view")
async def monitor_incidents(request):
    return await incidents_page(request, request.context.monitor.id)


@view_config(route_name="api.incidents", request_method="GET", renderer="json", permission="view")
async def all_incidents(request):
    return await incidents_page(request)


class Probe(BaseModel):
    """An ad-hoc check of up to 20 URLs: nothing is stored."""

    model_config = ConfigDict(extra="forbid", strict=True)

    urls: list[str] = Field(min_length=1, max_length=20)
    timeout: int = Field(10, ge=1, le=60)

    @field_validator("urls")
    @classmethod
    def _urls(cls, urls, info: ValidationInfo):
        guard = (info.context or {}).get("guard")
        problems = []
        for n, url in enumerate(urls):
            try:
                check_url(url, guard)
            except ValueError as exc:
                problems.append(f"#{n + 1}: {exc}")
        if problems:
            raise ValueError("; ".join(problems))
        return urls


@view_config(route_name="api.checks", request_method="POST", renderer="json", permission="edit",
             async_timeout=CHECK_DEADLINE)
async def probe(request):
    """Check every URL at once (asyncio.gather): it takes about as long as the slowest."""
    try:
        probe = Probe.model_validate(json_object(request), context=request.registry.monitors.context)
    except ValidationError as exc:
        raise Invalid(fields_of(exc)) from None
    try:
        await request.registry.throttle.attempt(request.dbsession, {"probe_user": request.context.owner_id})
    except accounts.Throttled as exc:
        raise HTTPTooManyRequests(f"Too many probes; try again in {exc.retry_after} seconds.",
                                  headers={"Retry-After": str(exc.retry_after)}) from None
    state = request.loop_state
    targets = [Target(url, timeout=probe.timeout, rules=Expectations()) for url in probe.urls]
    results = await asyncio.gather(*(check(state.http, state.guard, t) for t in targets))
    return {"results": [{"url": t.url, "ok": r.ok, "status_code": r.status_code, "latency_ms": r.latency_ms,
                         "error": r.error} for t, r in zip(targets, results)]}
