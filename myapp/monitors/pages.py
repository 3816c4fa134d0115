"""Browser pages for monitors: the dashboard, the form, the detail page with its chart, and its actions."""

import math
import types
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pyramid.httpexceptions import HTTPFound, HTTPNotFound
from pyramid.view import view_config

from ..accounts import service as accounts
from ..models.monitor import STATES
from ..validation import Invalid, PageQuery, parse_query
from . import queries, service
from .charts import latency_chart, sparkline
from .checker import Target, check
from .forms import channels_from_form, form_values, from_form
from .schema import MonitorFields, validate

PER_PAGE = 50
ROWS_HEADER = "X-Rows-Only"  # the dashboard's script asks for the rows alone, to refresh them in place


def _state_or_none(value):
    return value.upper() or None if isinstance(value, str) else value


class DashboardQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    page: int = Field(1, ge=1, le=100000)
    state: Annotated[Literal[STATES] | None, BeforeValidator(_state_or_none)] = None
    q: Annotated[str, BeforeValidator(lambda q: q.strip()[:200] if isinstance(q, str) else q)] = ""


@view_config(
    route_name="monitors",
    request_method="GET",
    renderer="myapp:monitors/templates/monitors/monitors.jinja2",
    permission="view",
)
async def dashboard(request):
    try:
        query = parse_query(request.GET, DashboardQuery)
    except Invalid as exc:
        raise HTTPNotFound(
            "No such page of monitors: " + "; ".join(f"{k} {v}" for k, v in exc.fields.items())
        ) from None
    number, state, text = query.page, query.state, query.q or None
    rows, matching, counts = await queries.dashboard(
        request.dbsession, request.context.owner_id, number, PER_PAGE, state, text
    )
    uptime = await service.uptimes(request.dbsession, [row.id for row in rows], daily=False)
    monitors = [{"row": row, "uptime": uptime[row.id]["24h"], "spark": sparkline(row.recent)} for row in rows]
    if request.headers.get(ROWS_HEADER):
        request.override_renderer = "myapp:monitors/templates/monitors/monitor_rows.jinja2"
    return {
        "monitors": monitors,
        "counts": counts,
        "total": sum(counts.values()),
        "matching": matching,
        "page": number,
        "pages": max(1, math.ceil(matching / PER_PAGE)),
        "state": state or "",
        "q": text or "",
        "refresh": request.registry.monitors.refresh_seconds,
    }


async def form_page(request, values, errors=None, monitor=None, test=None, status=200):
    request.response.status = status
    channels = await service.channel_choices(request.dbsession, request.context.owner_id)
    return {"values": values, "errors": errors or {}, "monitor": monitor, "test": test, "channels": channels}


async def read_form(request):
    """(clean fields, raw values): Invalid carries the errors of both the text and the rules."""
    data, errors = from_form(request.POST)
    values = {name: request.POST.get(name, "") for name in MonitorFields.model_fields}
    values["channels"] = set(channels_from_form(request.POST))
    try:
        clean = validate(data, request.registry.validation_context)
        await service.check_channels(request.dbsession, request.context.owner_id, list(values["channels"]))
    except Invalid as exc:
        exc.fields = {**exc.fields, **errors}
        exc.values = values
        raise
    if errors:
        exc = Invalid(errors)
        exc.values = values
        raise exc
    return clean, values


async def test_check(request, clean):
    """Run the check the form describes, without saving it (the ad-hoc probe's limit applies)."""
    try:
        await request.registry.throttle.attempt(request.dbsession, {"probe_user": request.context.owner_id})
    except accounts.Throttled as exc:
        return {
            "ok": False,
            "error": f"too many tests; try again in {exc.retry_after} seconds",
            "status_code": None,
            "latency_ms": None,
        }
    state = request.loop_state
    result = await check(state.http, state.guard, Target.of(types.SimpleNamespace(**clean)))
    return {"ok": result.ok, "error": result.error, "status_code": result.status_code, "latency_ms": result.latency_ms}


@view_config(
    route_name="monitors.new",
    request_method="GET",
    renderer="myapp:monitors/templates/monitors/monitor_form.jinja2",
    permission="edit",
)
async def new_monitor_form(request):
    return await form_page(request, form_values())


@view_config(
    route_name="monitors.new",
    request_method="POST",
    renderer="myapp:monitors/templates/monitors/monitor_form.jinja2",
    permission="edit",
    async_timeout=70,
)
async def create_monitor(request):
    try:
        clean, values = await read_form(request)
    except Invalid as exc:
        return await form_page(request, exc.values, exc.fields, status=422)
    if request.POST.get("action") == "test":
        return await form_page(request, values, test=await test_check(request, clean))
    try:
        monitor = await service.create_monitor(
            request.dbsession, request.context.owner_id, clean, request.registry.monitors.max_per_user
        )
    except service.TooManyMonitors as exc:
        return await form_page(
            request, values, {"name": f"you have {exc.limit} monitors, the most allowed"}, status=409
        )
    await service.set_channels(
        request.dbsession, request.context.owner_id, monitor.id, sorted(values["channels"]), new=True
    )
    request.session.flash(f"{monitor.name} is added; its first check comes within {monitor.interval} s.")
    return HTTPFound(request.route_path("monitor", monitor_id=monitor.id))


@view_config(
    route_name="monitor.edit",
    request_method="GET",
    renderer="myapp:monitors/templates/monitors/monitor_form.jinja2",
    permission="edit",
)
async def edit_monitor_form(request):
    monitor = request.context.monitor
    values = form_values(monitor)
    values["channels"] = set((await service.channels_of(request.dbsession, [monitor.id]))[monitor.id])
    return await form_page(request, values, monitor=monitor)


@view_config(
    route_name="monitor.edit",
    request_method="POST",
    renderer="myapp:monitors/templates/monitors/monitor_form.jinja2",
    permission="edit",
    async_timeout=70,
)
async def edit_monitor(request):
    monitor = request.context.monitor
    try:
        clean, values = await read_form(request)
    except Invalid as exc:
        return await form_page(request, exc.values, exc.fields, monitor=monitor, status=422)
    if request.POST.get("action") == "test":
        return await form_page(request, values, monitor=monitor, test=await test_check(request, clean))
    changes = {name: value for name, value in clean.items() if getattr(monitor, name) != value}
    await service.update_monitor(request.dbsession, monitor, changes)
    await service.set_channels(request.dbsession, request.context.owner_id, monitor.id, sorted(values["channels"]))
    request.session.flash(f"{monitor.name} is saved.")
    return HTTPFound(request.route_path("monitor", monitor_id=monitor.id))


class MonitorPageQuery(PageQuery):
    range: Literal[tuple(queries.RANGES)] = "24h"


@view_config(
    route_name="monitor",
    request_method="GET",
    renderer="myapp:monitors/templates/monitors/monitor.jinja2",
    permission="view",
)
async def monitor_page(request):
    monitor = request.context.monitor
    try:
        query = parse_query(request.GET, MonitorPageQuery)
    except Invalid as exc:
        raise HTTPNotFound("No such view of this monitor: " + "; ".join(exc.fields)) from None
    range_, cursor = query.range, query.cursor
    session = request.dbsession
    points, start, end = await queries.latency_points(session, monitor.id, range_)
    down = await queries.down_periods(session, monitor.id, start)
    results, next_cursor = await service.list_results(session, monitor.id, 20, cursor)
    incidents, _ = await service.list_incidents(session, request.context.owner_id, 20, monitor_id=monitor.id)
    uptime = (await service.uptimes(session, [monitor.id]))[monitor.id]
    return {
        "monitor": monitor,
        "uptime": uptime,
        "range": range_,
        "ranges": list(queries.RANGES),
        "chart": latency_chart(points, start, end, down, now=end),
        "results": results,
        "next_cursor": next_cursor,
        "incidents": incidents,
        "now": end,
    }


@view_config(route_name="monitor.check", request_method="POST", permission="edit", async_timeout=70)
async def check_now(request):
    monitor = request.context.monitor
    state = request.loop_state
    result = await check(state.http, state.guard, Target.of(monitor))
    await request.registry.monitoring.record(request.dbsession, [service.Outcome(monitor.id, result)])
    request.session.flash(f"Checked: {'passed' if result.ok else 'failed: ' + result.error} ({result.latency_ms} ms).")
    return HTTPFound(request.route_path("monitor", monitor_id=monitor.id))


@view_config(route_name="monitor.pause", request_method="POST", permission="edit")
async def pause(request):
    monitor = request.context.monitor
    paused = request.POST.get("paused") == "1"
    await service.update_monitor(request.dbsession, monitor, {"paused": paused})
    request.session.flash(f"{monitor.name} is {'paused' if paused else 'checked again'}.")
    return HTTPFound(request.route_path("monitor", monitor_id=monitor.id))


@view_config(
    route_name="monitor.delete",
    request_method="GET",
    renderer="myapp:templates/confirm_delete.jinja2",
    permission="delete",
)
def confirm_delete(request):
    monitor = request.context.monitor
    return {
        "what": monitor.name,
        "consequence": "Its results, incidents and uptime history are deleted too.",
        "action": request.route_path("monitor.delete", monitor_id=monitor.id),
        "back": request.route_path("monitor", monitor_id=monitor.id),
    }


@view_config(route_name="monitor.delete", request_method="POST", permission="delete")
async def delete(request):
    monitor = request.context.monitor
    await service.delete_monitor(request.dbsession, monitor)
    request.session.flash(f"{monitor.name} is deleted.")
    return HTTPFound(request.route_path("monitors"))
