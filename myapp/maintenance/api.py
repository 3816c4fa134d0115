"""JSON API: maintenance windows."""

from pyramid.httpexceptions import HTTPNoContent
from pyramid.view import view_config

from ..api.contract import Patch, created, page_of
from ..services import find
from ..text import iso
from ..validation import Error, PageQuery
from . import Maintenance, schema, service
from .schema import Window, WindowFields, WindowList


def window_json(window, monitor_ids):
    fields = schema.as_fields(window, monitor_ids)
    return {
        "id": window.id,
        **fields,
        "monitor_id": monitor_ids[0] if fields["monitor_ids"] and len(monitor_ids) == 1 else None,
        "created_at": iso(window.created_at),
        "updated_at": iso(window.updated_at),
    }


@view_config(
    route_name="api.maintenance",
    request_method="GET",
    renderer="json",
    permission="view",
    query=PageQuery,
    responses={200: WindowList},
)
async def list_windows(request):
    """The caller's maintenance windows, by id, a page at a time."""
    query = request.api_query
    windows, next_cursor = await service.page_of_windows(
        request.dbsession, request.context.owner_id, query.limit, query.cursor
    )
    ids = await service.monitors_of(request.dbsession, windows)
    return page_of("windows", [window_json(w, ids[w.id]) for w in windows], next_cursor)


@view_config(
    route_name="api.maintenance",
    request_method="POST",
    renderer="json",
    permission="edit",
    body=WindowFields,
    responses={201: Window, 409: Error},
)
async def create_window(request):
    """A new window: once (starts_at to ends_at, UTC) or weekly (days, start_time, duration_minutes, timezone),
    for the monitors in monitor_ids, or every monitor of the caller's (null)."""
    fields = schema.clean(request.api_body)
    window = await service.create_window(
        request.dbsession, request.context.owner_id, fields, find(request.registry, Maintenance).settings.max_per_user
    )
    await find(request.registry, Maintenance).announced_change(request, window.user_id, window.announce)
    created(request, "api.maintenance.window", window_id=window.id)
    return window_json(window, fields["monitor_ids"] or [])


async def one_window(request):
    window = request.context.window
    return window, (await service.monitors_of(request.dbsession, [window]))[window.id]


@view_config(
    route_name="api.maintenance.window",
    request_method="GET",
    renderer="json",
    permission="view",
    responses={200: Window},
)
async def get_window(request):
    """One window."""
    return window_json(*await one_window(request))


@view_config(
    route_name="api.maintenance.window",
    request_method="PATCH",
    renderer="json",
    permission="edit",
    body=Patch(WindowFields),
    responses={200: Window},
)
async def patch_window(request):
    """Change some fields; the window is checked as a whole."""
    window, monitor_ids = await one_window(request)
    fields = schema.validate(request.api_body, schema.as_fields(window, monitor_ids))
    await find(request.registry, Maintenance).announced_change(
        request, window.user_id, window.announce or fields["announce"]
    )
    await service.update_window(request.dbsession, window, fields)
    return window_json(window, fields["monitor_ids"] or [])


@view_config(route_name="api.maintenance.window", request_method="DELETE", permission="delete", responses={204: None})
async def delete_window(request):
    """Delete the window."""
    await find(request.registry, Maintenance).announced_change(
        request, request.context.window.user_id, request.context.window.announce
    )
    await request.dbsession.delete(request.context.window)
    return HTTPNoContent()
