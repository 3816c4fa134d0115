"""JSON API: notification channels, a test message, and what was delivered."""

import contextlib

from pyramid.httpexceptions import HTTPConflict, HTTPNoContent, HTTPTooManyRequests
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from ..accounts.service import Throttled
from ..api.contract import Patch, created
from ..on_demand import Busy
from ..text import iso
from ..validation import Error, validation_context
from . import actions, service
from .kinds import KINDS
from .schema import Attempt, Channel, ChannelFields, ChannelKindList, ChannelList, DeliveryList, Sending, validate


@contextlib.contextmanager
def refusals():
    """What a channel's owner may be refused, as the API says it: 429 (throttled, busy), 409 (not confirmed)."""
    try:
        yield
    except Throttled as exc:
        raise HTTPTooManyRequests(
            f"Too many messages to this address or from you; try again in {exc.retry_after} seconds.",
            headers={"Retry-After": str(exc.retry_after)},
        ) from None
    except Busy as exc:
        raise HTTPTooManyRequests(str(exc), headers={"Retry-After": "5"}) from None
    except actions.NotConfirmed as exc:
        raise HTTPConflict(str(exc)) from None


def channel_json(channel):
    return {
        "id": channel.id,
        "name": channel.name,
        "kind": channel.kind,
        "target": KINDS[channel.kind].shown_target(channel.target),
        "has_secret": channel.secret is not None,
        "slack": channel.slack,
        "events": service.events_of(channel),
        "remind_every": channel.remind_every,
        "confirmed": channel.confirmed_at is not None,
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
    responses={201: Channel, 409: Error, 429: Error},
)
async def create_channel(request):
    """A new channel: a webhook (JSON POST, optionally signed), an e-mail address, or a chat or push service
    through Apprise (see /api/channel-kinds for the services and their URLs)."""
    fields = request.api_body.model_dump()
    with refusals():
        channel = await actions.create(request, fields)
    created(request, "api.channel", channel_id=channel.id)
    return channel_json(channel)


@view_config(
    route_name="api.channel_kinds",
    request_method="GET",
    renderer="json",
    permission=NO_PERMISSION_REQUIRED,
    responses={200: ChannelKindList},
)
def channel_kinds(request):
    """What a channel can be: each kind, what its target is, and for Apprise the services offered with an
    example URL each."""
    return {"kinds": [kind.describe() for kind in KINDS.values()]}


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
    responses={200: Channel, 429: Error},
)
async def patch_channel(request):
    """Change some fields; the channel is checked as a whole.  A field left out keeps its value (the secret,
    and an Apprise URL, which is never shown whole)."""
    channel = request.context.channel
    changes = validate(request.api_body, validation_context(request.registry), service.current_fields(channel))
    with refusals():
        return channel_json(await actions.update(request, channel, changes))


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
    responses={200: Attempt, 202: Sending, 409: Error, 429: Error},
)
async def test_channel(request):
    """Send a test message now and say how it went (202 when it takes longer than the request waits: the
    result is then among the channel's deliveries)."""
    with refusals():
        done, attempt = await actions.send_test(request, request.context.channel)
    if not done:
        request.response.status = 202
        request.response.headers["Location"] = request.route_url(
            "api.channel.deliveries", channel_id=request.context.channel.id
        )
        return {"status": "sending", "message": "The test message is still being sent; see the deliveries."}
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


@view_config(
    route_name="api.channel.confirm",
    request_method="POST",
    renderer="json",
    permission="edit",
    responses={202: Sending, 409: Error, 429: Error},
)
async def confirm_again(request):
    """Send the confirmation message of an e-mail channel again (its address is not confirmed yet)."""
    channel = request.context.channel
    if channel.confirmed_at is not None:
        raise HTTPConflict("This channel's address is confirmed already.")
    with refusals():
        await actions.confirm_again(request, channel)
    request.response.status = 202
    return {"status": "sending", "message": f"A message with a link to confirm it is on its way to {channel.target}."}
