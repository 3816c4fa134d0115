"""Browser pages for monitors: the dashboard, the form, the detail page with its chart, and its actions."""

import math
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pyramid.httpexceptions import HTTPFound, HTTPNotFound
from pyramid.renderers import render_to_response
from pyramid.view import view_config

from ..accounts import service as accounts
from ..checks import Monitoring, snapshot
from ..checks.kinds import KINDS
from ..checks.pings import Pinger
from ..deleting import deletion
from ..models.meta import utcnow
from ..models.monitor import STATES
from ..on_demand import Busy, NotStored, OnDemand, Unavailable
from ..services import find
from ..text import counted
from ..validation import Invalid, PageQuery, parse_query, validation_context
from . import MonitorSettings, queries, service
from .charts import latency_chart, sparkline
from .forms import channels_from_form, form_values, from_form
from .schema import MonitorFields, validate

PER_PAGE = 50
PASSIVE = "a heartbeat is checked by its pings, not by myapp: send one to its ping URL"
ROWS_HEADER = "X-Rows-Only"  # the dashboard's script asks for the rows alone, to refresh them in place


def _state_or_none(value):
    return value.upper() or None if isinstance(value, str) else value


def query_or_404(request, model):
    """The page's query string, read by ``model``: one the page cannot show is a page that is not there."""
    try:
        return parse_query(request.GET, model)
    except Invalid as exc:
        raise HTTPNotFound("; ".join(f"{name}: {problem}" for name, problem in exc.fields.items())) from None


class DashboardQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    page: int = Field(1, ge=1, le=100000)
    state: Annotated[Literal[STATES] | None, BeforeValidator(_state_or_none)] = None
    q: Annotated[str, BeforeValidator(lambda q: q.strip()[:200] if isinstance(q, str) else q)] = ""
    tag: Annotated[str, BeforeValidator(lambda tag: tag.strip()[:32] if isinstance(tag, str) else tag)] = ""


@view_config(
    route_name="monitors",
    request_method="GET",
    renderer="myapp:monitors/templates/monitors/monitors.jinja2",
    permission="view",
)
async def dashboard(request):
    query = query_or_404(request, DashboardQuery)
    number, state, text, tag = query.page, query.state, query.q or None, query.tag or None
    rows, matching, counts = await queries.dashboard(
        request.dbsession, request.context.owner_id, number, PER_PAGE, state, text, tag
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
        "tag": tag or "",
        "refresh": find(request.registry, MonitorSettings).refresh_seconds,
    }


BULK = {"pause": "paused", "resume": "checked again", "delete": "deleted"}


@view_config(route_name="monitors.bulk", request_method="POST", permission="edit")
async def bulk(request):
    """Pause, resume or delete the monitors ticked on the dashboard (a page of them at most); deleting asks
    first, on a page that names them."""
    action = request.POST.get("action")
    ids = {int(v) for v in request.POST.getall("ids") if v.isascii() and v.isdigit() and len(v) < 12}
    back = HTTPFound(request.route_path("monitors"))
    if action not in BULK or not ids or len(ids) > PER_PAGE:
        request.session.flash(f"Tick between 1 and {PER_PAGE} monitors, then choose what to do.", "error")
        return back
    chosen = await service.monitors_of(request.dbsession, request.context.owner_id, sorted(ids))
    if not chosen:
        request.session.flash("None of the monitors ticked is yours any more.", "error")
        return back
    if action == "delete" and request.POST.get("confirmed") != "1":
        return render_to_response(
            "myapp:templates/confirm_delete.jinja2",
            {
                "what": counted(len(chosen), "monitors"),
                "names": [m.name for m in chosen],
                "consequence": "Their results, incidents and uptime history are deleted too.",
                "action": request.route_path("monitors.bulk"),
                "fields": [("action", "delete"), ("confirmed", "1"), *(("ids", m.id) for m in chosen)],
                "back": request.route_path("monitors"),
            },
            request=request,
        )
    for monitor in chosen:
        if action == "delete":
            await service.delete_monitor(request.dbsession, monitor)
        else:
            await service.update_monitor(request.dbsession, monitor, {"paused": action == "pause"})
    request.session.flash(f"{counted(len(chosen), 'monitors')} {'is' if len(chosen) == 1 else 'are'} {BULK[action]}.")
    return back


def _blank_is_none(value):
    return value or None


class IncidentsQuery(PageQuery):
    """The page's links leave a filter not chosen empty (?monitor=&open=)."""

    monitor: Annotated[int | None, BeforeValidator(_blank_is_none)] = Field(None, ge=1, le=2**31)
    open: Annotated[bool, BeforeValidator(lambda value: value or False)] = False


@view_config(
    route_name="incidents",
    request_method="GET",
    renderer="myapp:monitors/templates/monitors/incidents.jinja2",
    permission="view",
)
async def incidents(request):
    """Every incident of the user's monitors (or of one), newest first, a page at a time."""
    query = query_or_404(request, IncidentsQuery)
    session, owner = request.dbsession, request.context.owner_id
    found, next_cursor = await service.list_incidents(
        session, owner, query.limit, query.cursor, query.monitor, query.open
    )
    names = await queries.monitor_names(session, owner, {i.monitor_id for i in found} | {query.monitor} - {None})
    if query.monitor is not None and query.monitor not in names:
        raise HTTPNotFound("No such monitor.")
    return {
        "incidents": found,
        "names": names,
        "monitor": query.monitor,
        "open": query.open,
        "next_cursor": next_cursor,
        "now": utcnow(),
    }


async def form_page(request, values, errors=None, monitor=None, test=None, status=200):
    request.response.status = status
    channels = await service.channel_choices(request.dbsession, request.context.owner_id)
    return {
        "values": values,
        "errors": errors or {},
        "monitor": monitor,
        "test": test,
        "channels": channels,
        "kinds": list(KINDS.values()),
        "min_interval": find(request.registry, MonitorSettings).min_interval,
    }


async def read_form(request):
    """(clean fields, raw values): Invalid carries the errors of both the text and the rules."""
    data, errors = from_form(request.POST)
    values = {name: request.POST.get(name, "") for name in MonitorFields.model_fields}
    values["channels"] = set(channels_from_form(request.POST))
    try:
        clean = validate(data, validation_context(request.registry))
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


async def on_demand(request, coro, **options):
    """(done, result, None), or (False, None, why in words) when the check could not be started or waited for."""
    try:
        done, result = await find(request.registry, Monitoring).on_demand(request, coro, **options)
    except accounts.Throttled as exc:
        return False, None, f"too many checks on demand; try again in {exc.retry_after} seconds"
    except (Busy, Unavailable, NotStored) as exc:
        return False, None, str(exc)
    return done, result, None


async def test_check(request, clean):
    """Run the check the form describes, without saving it (checks on demand are limited as the probe's are)."""
    if not KINDS[clean["kind"]].active:
        return {"ok": False, "error": PASSIVE, "status_code": None, "latency_ms": None}
    wait = find(request.registry, OnDemand).wait_seconds
    done, result, why = await on_demand(
        request, find(request.registry, Monitoring).try_out(clean, wait), seconds=wait + 1, must_wait=True
    )
    if not done:
        return {"ok": False, "error": why or "the check took too long", "status_code": None, "latency_ms": None}
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
            request.dbsession, request.context.owner_id, clean, find(request.registry, MonitorSettings).max_per_user
        )
    except accounts.TooMany as exc:
        return await form_page(request, values, {"name": str(exc)}, status=409)
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
    query = query_or_404(request, MonitorPageQuery)
    range_, cursor = query.range, query.cursor
    session = request.dbsession
    points, start, end = await queries.latency_points(session, monitor.id, range_)
    down = await queries.down_periods(session, monitor.id, start)
    results, next_cursor = await service.list_results(session, monitor.id, 20, cursor)
    incidents, _ = await service.list_incidents(session, request.context.owner_id, 20, monitor_id=monitor.id)
    uptime = (await service.uptimes(session, [monitor.id]))[monitor.id]
    kind = KINDS[monitor.kind]
    pings = [] if kind.active else (await service.list_pings(session, monitor.id, 20))[0]
    refused = await service.list_write_errors(session, monitor.id, 5)
    return {
        "refused": refused,
        "monitor": monitor,
        "kind": kind,
        "ping_body_bytes": find(request.registry, Pinger).settings.body_bytes,
        "ping_url": None if kind.active else request.route_url("ping", token=monitor.ping_token),
        "pings": pings,
        "uptime": uptime,
        "range": range_,
        "ranges": list(queries.RANGES),
        "chart": latency_chart(points, start, end, down, now=end),
        "results": results,
        "next_cursor": next_cursor,
        "incidents": incidents,
        "now": end,
    }


@view_config(route_name="monitor.check", request_method="POST", permission="edit")
async def check_now(request):
    monitor = request.context.monitor
    if not KINDS[monitor.kind].active:
        request.session.flash(f"Not checked: {PASSIVE}.")
        return HTTPFound(request.route_path("monitor", monitor_id=monitor.id))
    done, result, why = await on_demand(request, find(request.registry, Monitoring).check_now(snapshot(monitor)))
    if done:
        outcome = "passed" if result.ok else "failed: " + result.error
        request.session.flash(f"Checked: {outcome} ({result.latency_ms} ms).")
    elif why:
        request.session.flash(f"Not checked: {why}.")
    else:
        request.session.flash("The check is still running; its result will appear below when it is done.")
    return HTTPFound(request.route_path("monitor", monitor_id=monitor.id))


@view_config(route_name="monitor.pause", request_method="POST", permission="edit")
async def pause(request):
    monitor = request.context.monitor
    paused = request.POST.get("paused") == "1"
    await service.update_monitor(request.dbsession, monitor, {"paused": paused})
    request.session.flash(f"{monitor.name} is {'paused' if paused else 'checked again'}.")
    return HTTPFound(request.route_path("monitor", monitor_id=monitor.id))


@deletion(
    "monitor.delete",
    what=lambda monitor: f"the monitor {monitor.name}",
    consequence=lambda monitor: "Its results, incidents and uptime history are deleted too.",
    back=lambda request, monitor: request.route_path("monitor", monitor_id=monitor.id),
)
async def delete(request, monitor):
    await service.delete_monitor(request.dbsession, monitor)
    return request.route_path("monitors")
