"""Browser pages for maintenance windows: the list and form, and deletion."""

import datetime
import zoneinfo

from pyramid.httpexceptions import HTTPFound
from pyramid.view import view_config
from sqlalchemy import select

from ..accounts.service import TooMany
from ..deleting import deletion
from ..models import Monitor
from ..services import find
from ..validation import Invalid
from . import Maintenance, schema, service


async def page(request, values=None, errors=None):
    monitors = (
        await request.dbsession.execute(
            select(Monitor.id, Monitor.name).where(Monitor.user_id == request.context.owner_id).order_by(Monitor.name)
        )
    ).all()
    windows = await service.list_windows(request.dbsession, request.context.owner_id)
    names = {m.id: m.name for m in monitors}
    covered = await service.monitors_of(request.dbsession, windows)
    return {
        "windows": windows,
        "covered": {w: ", ".join(names[m] for m in ids) for w, ids in covered.items()},
        "monitors": monitors,
        "days": schema.DAYS,
        "announce_days": service.ANNOUNCE_DAYS,
        "values": values or {},
        "errors": errors or {},
    }


def zone_of(name):
    """The time zone called ``name``, or None (the schema says what is wrong with the name)."""
    try:
        return zoneinfo.ZoneInfo(name) if len(name) <= 64 else None
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


def in_zone(local, zone):
    """A form's local time (no offset) read in ``zone``, as ISO 8601 with its offset; None if it cannot be."""
    try:
        moment = datetime.datetime.fromisoformat(local) if len(local) <= 40 and zone is not None else None
    except ValueError:
        return None
    return moment.replace(tzinfo=zone).isoformat() if moment is not None and moment.tzinfo is None else None


def read_form(post):
    """(data for the schema, {field: problem} found while reading the text)."""
    data, errors = {"name": post.get("name", ""), "kind": post.get("kind", ""), "announce": "announce" in post}, {}
    if post.get("scope") == "some":
        ids = [value for value in post.getall("monitor_ids") if value.isascii() and value.isdigit() and len(value) < 10]
        data["monitor_ids"] = [int(value) for value in ids]
        if not ids:
            errors["monitor_ids"] = "tick the monitors it is for, or choose all of yours"
    data["timezone"] = post.get("timezone", "").strip() or None
    if data["kind"] == "once":
        zone = zone_of(data["timezone"] or "UTC")
        if zone is None:
            errors["timezone"] = "not a time zone: use a name such as Europe/Paris or UTC"
        for name in ("starts_at", "ends_at"):  # a browser's datetime-local, 2026-12-01T22:00, in that zone
            if post.get(name):
                data[name] = in_zone(post[name], zone) or post[name]  # one it cannot read: the schema says why
    else:
        data["days"] = post.getall("days")
        data["start_time"] = post.get("start_time") or None
        raw = post.get("duration_minutes", "").strip()
        if raw:
            if raw.isascii() and raw.isdigit() and len(raw) < 7:
                data["duration_minutes"] = int(raw)
            else:
                errors["duration_minutes"] = "a whole number"
    return data, errors


@view_config(
    route_name="maintenance",
    request_method="GET",
    renderer="myapp:maintenance/templates/maintenance/maintenance.jinja2",
    permission="view",
)
async def windows_page(request):
    return await page(request)


@view_config(
    route_name="maintenance",
    request_method="POST",
    renderer="myapp:maintenance/templates/maintenance/maintenance.jinja2",
    permission="edit",
)
async def create(request):
    data, errors = read_form(request.POST)
    values = {
        **{
            k: request.POST.get(k, "")
            for k in (
                "name",
                "kind",
                "scope",
                "starts_at",
                "ends_at",
                "start_time",
                "duration_minutes",
                "timezone",
            )
        },
        "days": request.POST.getall("days"),
        "monitor_ids": request.POST.getall("monitor_ids"),
        "announce": "announce" in request.POST,
    }
    try:
        if errors:
            raise Invalid(errors)
        window = await service.create_window(
            request.dbsession,
            request.context.owner_id,
            schema.validate(data),
            find(request.registry, Maintenance).settings.max_per_user,
        )
    except Invalid as exc:
        request.response.status = 422
        return await page(request, values, exc.fields)
    except TooMany as exc:
        request.response.status = 409
        return await page(request, values, {"name": str(exc)})
    await find(request.registry, Maintenance).announced_change(request, window.user_id, window.announce)
    request.session.flash(f"The maintenance window {window.name} is saved.")
    return HTTPFound(request.route_path("maintenance"))


@deletion(
    "maintenance.delete",
    what=lambda window: f"the maintenance window {window.name}",
    consequence=lambda window: "Its monitors alert as usual again.",
    back=lambda request, window: request.route_path("maintenance"),
)
async def delete(request, window):
    await find(request.registry, Maintenance).announced_change(request, window.user_id, window.announce)
    await request.dbsession.delete(window)
    return request.route_path("maintenance")
