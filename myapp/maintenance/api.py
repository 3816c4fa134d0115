"""JSON API: maintenance windows."""

from pyramid.httpexceptions import HTTPNoContent
from pyramid.view import view_config

from ..api.contract import Patch
from ..text import iso
from ..validation import Error, PageQuery
from . import schema, service
from .schema import Window, WindowFields, WindowList


def window_json(window):
    return {
        "id": window.id,
        **schema.as_fields(window),
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
    return {"windows": [window_json(w) for w in windows], "next_cursor": str(next_cursor) if next_cursor else None}


@view_config(
    route_name="api.maintenance",
    request_method="POST",
    renderer="json",
    permission="edit",
    body=WindowFields,
    responses={201: Window, 409: Error},
)
async def create_window(request):
    """A new window: once (starts_at to ends_at, UTC) or weekly (days, start_time, duration_minutes, timezone)."""
    fields = schema.clean(request.api_body)
    window = await service.create_window(
        request.dbsession, request.context.owner_id, fields, request.registry.maintenance.max_per_user
    )
    request.response.status = 201
    request.response.headers["Location"] = request.route_url("api.maintenance.window", window_id=window.id)
    return window_json(window)


@view_config(
    route_name="api.maintenance.window",
    request_method="GET",
    renderer="json",
    permission="view",
    responses={200: Window},
)
def get_window(request):
    """One window."""
    return window_json(request.context.window)


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
    window = request.context.window
    fields = schema.validate(request.api_body, schema.as_fields(window))
    return window_json(await service.update_window(request.dbsession, window, fields))


@view_config(route_name="api.maintenance.window", request_method="DELETE", permission="delete", responses={204: None})
async def delete_window(request):
    """Delete the window."""
    await request.dbsession.delete(request.context.window)
    return HTTPNoContent()
