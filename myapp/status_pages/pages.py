"""Status pages: the owner's list and form, and the public page at /status/{slug}."""

from pyramid.httpexceptions import HTTPFound, HTTPNotFound
from pyramid.renderers import render
from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config
from sqlalchemy import select

from ..accounts.service import TooMany
from ..deleting import deletion
from ..maintenance import service as maintenance
from ..models import Monitor
from ..models.meta import utcnow
from ..monitors import charts, queries
from ..monitors import service as monitor_service
from ..services import find
from ..validation import Invalid
from . import StatusPageSettings, announcements, schema, service
from .cache import StatusCache, forget_when_done
from .tables import StatusPage

STATUS_TEMPLATE = "myapp:status_pages/templates/status_pages/status.jinja2"


async def form_context(request, values, errors=None, page=None, status=200, told=None):
    """The list and form; for a page, its announcements too (``told``: the values and errors of an announcement
    or update form that needs a change, by form: "new" or the announcement's id)."""
    request.response.status = status
    monitors = (
        await request.dbsession.execute(
            select(Monitor.id, Monitor.name, Monitor.state)
            .where(Monitor.user_id == request.context.owner_id)
            .order_by(Monitor.name)
        )
    ).all()
    # the chosen ones first, in the page's order (the form posts them in the order shown), then the rest by name
    chosen = {monitor_id: n for n, monitor_id in enumerate(values["monitors"])}
    monitors.sort(key=lambda m: chosen.get(m.id, len(chosen)))
    return {
        "values": values,
        "errors": errors or {},
        "page": page,
        "monitors": monitors,
        "pages": await service.pages_of(request.dbsession, request.context.owner_id),
        **(await told_of(request, page, told) if page is not None else {}),
    }


async def told_of(request, page, told):
    opened, resolved = await announcements.of_page(request.dbsession, page.id)
    return {
        "opened": opened,
        "resolved": resolved,
        "updates": await announcements.updates_of(request.dbsession, opened + resolved),
        "impacts": announcements.IMPACTS,
        "statuses": announcements.STATUSES,
        "told": told or {},
        "history_days": announcements.HISTORY_DAYS,
    }


def read_form(post):
    data = {"title": post.get("title", ""), "slug": post.get("slug", ""), "show_urls": bool(post.get("show_urls"))}
    ids = [value for value in post.getall("monitors") if value.isascii() and value.isdigit() and len(value) < 12]
    data["monitors"] = [int(value) for value in ids]
    return data


@view_config(
    route_name="status_pages",
    request_method="GET",
    renderer="myapp:status_pages/templates/status_pages/status_pages.jinja2",
    permission="view",
)
async def status_pages_list(request):
    return await form_context(request, {"title": "", "slug": "", "show_urls": False, "monitors": []})


async def save(request, page=None):
    old_slug = page.slug if page is not None else None
    data = read_form(request.POST)
    try:
        fields = schema.validate(data)
        saved = await service.save(
            request.dbsession,
            request.context.owner_id,
            fields,
            page,
            find(request.registry, StatusPageSettings).max_per_user,
        )
    except Invalid as exc:
        return await form_context(request, data, exc.fields, page, status=422)
    except TooMany as exc:
        return await form_context(request, data, {"title": str(exc)}, page, status=409)
    except service.SlugTaken:
        return await form_context(request, data, {"slug": "this address is taken; choose another"}, page, status=409)
    forget_when_done(request, saved.slug, *([old_slug] if old_slug else []))
    request.session.flash(f"The status page {saved.title} is saved: anyone can open it at /status/{saved.slug}.")
    return HTTPFound(request.route_path("status_page.edit", page_id=saved.id))


@view_config(
    route_name="status_pages",
    request_method="POST",
    renderer="myapp:status_pages/templates/status_pages/status_pages.jinja2",
    permission="edit",
)
async def create(request):
    return await save(request)


@view_config(
    route_name="status_page.edit",
    request_method="GET",
    renderer="myapp:status_pages/templates/status_pages/status_pages.jinja2",
    permission="edit",
)
async def edit_form(request):
    page = request.context.page
    return await form_context(request, await page_values(request, page), page=page)


async def page_values(request, page):
    return {
        "title": page.title,
        "slug": page.slug,
        "show_urls": page.show_urls,
        "monitors": await service.monitor_ids(request.dbsession, page.id),
    }


@view_config(
    route_name="status_page.edit",
    request_method="POST",
    renderer="myapp:status_pages/templates/status_pages/status_pages.jinja2",
    permission="edit",
)
async def edit(request):
    return await save(request, request.context.page)


@view_config(
    route_name="status_page.announce",
    request_method="POST",
    renderer="myapp:status_pages/templates/status_pages/status_pages.jinja2",
    permission="edit",
)
async def announce(request):
    page = request.context.page
    data = {name: request.POST.get(name, "") for name in ("title", "impact", "status", "message")}
    try:
        fields = announcements.validate(announcements.AnnouncementFields, {**data, "status_page": page.slug})
        await announcements.post(
            request.dbsession,
            request.context.owner_id,
            page,
            fields,
            find(request.registry, StatusPageSettings).max_announcements,
        )
    except Invalid as exc:
        told = {"new": (data, exc.fields)}
        return await form_context(request, await page_values(request, page), page=page, status=422, told=told)
    except TooMany as exc:
        told = {"new": (data, {"title": str(exc)})}
        return await form_context(request, await page_values(request, page), page=page, status=409, told=told)
    forget_when_done(request, page.slug)
    request.session.flash(f"{fields['title']} is on /status/{page.slug}.")
    return HTTPFound(request.route_path("status_page.edit", page_id=page.id, _anchor="announcements"))


@view_config(
    route_name="announcement.update",
    request_method="POST",
    renderer="myapp:status_pages/templates/status_pages/status_pages.jinja2",
    permission="edit",
)
async def add_update(request):
    announcement = request.context.announcement
    page = await request.dbsession.get(StatusPage, announcement.status_page_id)
    data = {name: request.POST.get(name, "") for name in ("status", "message")}
    try:
        fields = announcements.validate(announcements.UpdateFields, data)
        await announcements.add_update(request.dbsession, announcement, fields)
    except (Invalid, TooMany) as exc:
        told = {announcement.id: (data, exc.fields if isinstance(exc, Invalid) else {"message": str(exc)})}
        status = 422 if isinstance(exc, Invalid) else 409
        return await form_context(request, await page_values(request, page), page=page, status=status, told=told)
    forget_when_done(request, page.slug)
    request.session.flash(f"The update to {announcement.title} is on /status/{page.slug}.")
    return HTTPFound(request.route_path("status_page.edit", page_id=page.id, _anchor="announcements"))


def announcements_of(request, page_id):
    return request.route_path("status_page.edit", page_id=page_id, _anchor="announcements")


@deletion(
    "announcement.delete",
    what=lambda announcement: f"the announcement {announcement.title}",
    consequence=lambda announcement: "Its status page no longer shows it or its updates, in its history either.",
    back=lambda request, announcement: announcements_of(request, announcement.status_page_id),
)
async def delete_announcement(request, announcement):
    page = await request.dbsession.get(StatusPage, announcement.status_page_id)
    await request.dbsession.delete(announcement)
    forget_when_done(request, page.slug)
    return announcements_of(request, page.id)


@deletion(
    "status_page.delete",
    what=lambda page: f"the status page {page.title}",
    consequence=lambda page: f"/status/{page.slug} stops answering.",
    back=lambda request, page: request.route_path("status_page.edit", page_id=page.id),
)
async def delete(request, page):
    await request.dbsession.delete(page)
    forget_when_done(request, page.slug)
    return request.route_path("status_pages")


@view_config(route_name="status", request_method="GET", permission=NO_PERMISSION_REQUIRED)
async def public_status(request):
    """Anyone may look: each monitor's state, 90 daily uptime bars, the open incidents; nothing else."""
    slug = request.matchdict["slug"]
    cache = find(request.registry, StatusCache)
    body = cache.get(slug)
    if body is None:
        body = render(STATUS_TEMPLATE, await public_values(request.dbsession, slug), request)
        cache.put(slug, body)
    response = Response(body, content_type="text/html", charset="utf-8")
    response.cache_control.public = True
    response.cache_control.max_age = max(cache.seconds, 0)
    return response


async def public_values(session, slug):
    found = await service.public_view(session, slug)
    if found is None:
        raise HTTPNotFound("There is no status page here.")
    page, monitors, incidents = found
    ids = [m.id for m in monitors]
    bars = {m: charts.uptime_bars(days) for m, days in (await queries.daily_bars(session, ids)).items()}
    uptime = await monitor_service.uptimes(session, ids)
    names = {m.id: m.name for m in monitors}
    down = sum(1 for m in monitors if m.state == "DOWN")
    now = utcnow()
    opened, resolved = await announcements.of_page(session, page.id, now)
    windows = await maintenance.ahead(session, page.user_id, ids, now)
    return {
        "opened": opened,
        "resolved": resolved,
        "updates": await announcements.updates_of(session, opened + resolved),
        "impacts": announcements.IMPACT_NAMES,
        "maintenance": [
            {"name": w.name, "start": start, "end": end, "now": start <= now, "services": [names[m] for m in shown]}
            for w, start, end, shown in windows
        ],
        "page": page,
        "monitors": monitors,
        "bars": bars,
        "uptime": uptime,
        "down": down,
        "incidents": [
            {"monitor": names[i.monitor_id], "since": i.started_at, "cause": i.cause if page.show_urls else None}
            for i in incidents
        ],
    }
