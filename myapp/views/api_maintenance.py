"""JSON API: maintenance windows."""

from pyramid.httpexceptions import HTTPNoContent
from pyramid.view import view_config

from ..monitors import maintenance
from ..validation import json_object
from . import iso


def window_json(window):
    return {"id": window.id, **maintenance.as_fields(window), "created_at": iso(window.created_at),
            "updated_at": iso(window.updated_at)}


@view_config(route_name="api.maintenance", request_method="GET", renderer="json", permission="view")
async def list_windows(request):
    return {"windows": [window_json(w) for w in
                        await maintenance.list_windows(request.dbsession, request.context.owner_id)]}


@view_config(route_name="api.maintenance", request_method="POST", renderer="json", permission="edit")
async def create_window(request):
    fields = maintenance.validate(json_object(request))
    window = await maintenance.create_window(request.dbsession, request.context.owner_id, fields)
    request.response.status = 201
    request.response.headers["Location"] = request.route_url("api.maintenance.window", window_id=window.id)
    return window_json(window)


@view_config(route_name="api.maintenance.window", request_method="GET", renderer="json", permission="view")
def get_window(request):
    return window_json(request.context.window)


@view_config(route_name="api.maintenance.window", request_method="PATCH", renderer="json", permission="edit")
async def patch_window(request):
    window = request.context.window
    fields = maintenance.validate(json_object(request), maintenance.as_fields(window))
    return window_json(await maintenance.update_window(request.dbsession, window, fields))


@view_config(route_name="api.maintenance.window", request_method="DELETE", permission="delete")
async def delete_window(request):
    await request.dbsession.delete(request.context.window)
    return HTTPNoContent()
