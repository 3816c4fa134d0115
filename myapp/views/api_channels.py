"""JSON API: notification channels, a test message, and what was delivered."""

from pyramid.httpexceptions import HTTPNoContent
from pyramid.view import view_config

from ..alerts import sender, service
from ..alerts.schema import validate
from ..validation import json_object
from . import iso


def channel_json(channel):
    return {"id": channel.id, "name": channel.name, "kind": channel.kind, "target": channel.target,
            "has_secret": channel.secret is not None, "slack": channel.slack,
            "created_at": iso(channel.created_at), "updated_at": iso(channel.updated_at)}


def delivery_json(row):
    return {"id": row.id, "event": row.event, "monitor": row.monitor, "status": row.status,
            "attempts": row.attempts, "last_error": row.last_error, "created_at": iso(row.created_at),
            "sent_at": iso(row.sent_at), "next_attempt_at": iso(row.due_at) if row.status == "pending" else None}


@view_config(route_name="api.channels", request_method="GET", renderer="json", permission="view")
async def list_channels(request):
    return {"channels": [channel_json(c) for c in
                         await service.list_channels(request.dbsession, request.context.owner_id)]}


@view_config(route_name="api.channels", request_method="POST", renderer="json", permission="edit")
async def create_channel(request):
    fields = validate(json_object(request), request.registry.monitors.context)
    channel = await service.create_channel(request.dbsession, request.context.owner_id, fields)
    request.response.status = 201
    request.response.headers["Location"] = request.route_url("api.channel", channel_id=channel.id)
    return channel_json(channel)


@view_config(route_name="api.channel", request_method="GET", renderer="json", permission="view")
def get_channel(request):
    return channel_json(request.context.channel)


@view_config(route_name="api.channel", request_method="PATCH", renderer="json", permission="edit")
async def patch_channel(request):
    channel = request.context.channel
    current = {"name": channel.name, "kind": channel.kind, "target": channel.target, "secret": channel.secret,
               "slack": channel.slack}
    changes = validate(json_object(request), request.registry.monitors.context, current)
    return channel_json(await service.update_channel(request.dbsession, channel, changes))


@view_config(route_name="api.channel", request_method="DELETE", permission="delete")
async def delete_channel(request):
    await service.delete_channel(request.dbsession, request.context.channel)
    return HTTPNoContent()


@view_config(route_name="api.channel.test", request_method="POST", renderer="json", permission="edit",
             async_timeout=sender.TIMEOUT + 5)
async def test_channel(request):
    attempt = await sender.send_test(request.loop_state, request.registry.alerts, request.dbsession,
                                     request.context.channel)
    return {"ok": attempt.ok, "status_code": attempt.status_code, "latency_ms": attempt.latency_ms,
            "error": attempt.error}


@view_config(route_name="api.channel.deliveries", request_method="GET", renderer="json", permission="view")
async def deliveries(request):
    rows = await service.recent_deliveries(request.dbsession, request.context.channel.id, limit=100)
    return {"deliveries": [delivery_json(row) for row in rows]}
