"""JSON API: notification channels, a test message, and what was delivered."""

from pyramid.httpexceptions import HTTPNoContent
from pyramid.view import view_config

from ..api.contract import Patch
from ..text import iso
from . import sender, service
from .schema import Attempt, Channel, ChannelFields, ChannelList, DeliveryList, validate


def channel_json(channel):
    return {
        "id": channel.id,
        "name": channel.name,
        "kind": channel.kind,
        "target": channel.target,
        "has_secret": channel.secret is not None,
        "slack": channel.slack,
        "created_at": iso(channel.created_at),
        "updated_at": iso(channel.updated_at),
    }


def delivery_json(row):
    return {
        "id": row.id,
        "event": row.event,
        "monitor": row.monitor,
        "status": row.status,
        "attempts": row.attempts,
        "last_error": row.last_error,
        "created_at": iso(row.created_at),
        "sent_at": iso(row.sent_at),
        "next_attempt_at": iso(row.due_at) if row.status == "pending" else None,
    }


@view_config(
    route_name="api.channels", request_method="GET", renderer="json", permission="view", responses={200: ChannelList}
)
async def list_channels(request):
    """The caller's notification channels."""
    return {
        "channels": [channel_json(c) for c in await service.list_channels(request.dbsession, request.context.owner_id)]
    }


@view_config(
    route_name="api.channels",
    request_method="POST",
    renderer="json",
    permission="edit",
    body=ChannelFields,
    responses={201: Channel},
)
async def create_channel(request):
    """A new channel: a webhook (JSON POST, optionally signed) or an e-mail address."""
    fields = request.api_body.model_dump()
    channel = await service.create_channel(request.dbsession, request.context.owner_id, fields)
    request.response.status = 201
    request.response.headers["Location"] = request.route_url("api.channel", channel_id=channel.id)
    return channel_json(channel)


@view_config(
    route_name="api.channel", request_method="GET", renderer="json", permission="view", responses={200: Channel}
)
def get_channel(request):
    """One channel."""
    return channel_json(request.context.channel)


@view_config(
    route_name="api.channel",
    request_method="PATCH",
    renderer="json",
    permission="edit",
    body=Patch(ChannelFields),
    responses={200: Channel},
)
async def patch_channel(request):
    """Change some fields; the channel is checked as a whole."""
    channel = request.context.channel
    current = {
        "name": channel.name,
        "kind": channel.kind,
        "target": channel.target,
        "secret": channel.secret,
        "slack": channel.slack,
    }
    changes = validate(request.api_body, request.registry.validation_context, current)
    return channel_json(await service.update_channel(request.dbsession, channel, changes))


@view_config(route_name="api.channel", request_method="DELETE", permission="delete", responses={204: None})
async def delete_channel(request):
    """Delete the channel; its monitors no longer alert it."""
    await service.delete_channel(request.dbsession, request.context.channel)
    return HTTPNoContent()


@view_config(
    route_name="api.channel.test",
    request_method="POST",
    renderer="json",
    permission="edit",
    async_timeout=sender.TIMEOUT + 5,
    responses={200: Attempt},
)
async def test_channel(request):
    """Send a test message now and say how it went."""
    attempt = await sender.send_test(
        request.registry.outbox.sending(request.loop_state), request.dbsession, request.context.channel
    )
    return {
        "ok": attempt.ok,
        "status_code": attempt.status_code,
        "latency_ms": attempt.latency_ms,
        "error": attempt.error,
    }


@view_config(
    route_name="api.channel.deliveries",
    request_method="GET",
    renderer="json",
    permission="view",
    responses={200: DeliveryList},
)
async def deliveries(request):
    """The channel's last 100 messages: pending, sent or failed, with attempts and the last error."""
    rows = await service.recent_deliveries(request.dbsession, request.context.channel.id, limit=100)
    return {"deliveries": [delivery_json(row) for row in rows]}
