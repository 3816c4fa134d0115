"""Browser pages for alert channels: the list and form, a channel's deliveries, a test, deletion."""

from pyramid.httpexceptions import HTTPFound
from pyramid.view import view_config

from ..validation import Invalid
from . import sender, service
from .schema import validate


def read_form(post):
    data = {
        "name": post.get("name", ""),
        "kind": post.get("kind", ""),
        "target": post.get("target", ""),
        "slack": bool(post.get("slack")),
    }
    if post.get("secret"):
        data["secret"] = post["secret"]
    return data


async def channels_page(request, values=None, errors=None):
    return {
        "channels": await service.list_channels(request.dbsession, request.context.owner_id),
        "values": values or {},
        "errors": errors or {},
    }


@view_config(
    route_name="channels",
    request_method="GET",
    renderer="myapp:alerts/templates/alerts/channels.jinja2",
    permission="view",
)
async def channels_list(request):
    return await channels_page(request)


@view_config(
    route_name="channels",
    request_method="POST",
    renderer="myapp:alerts/templates/alerts/channels.jinja2",
    permission="edit",
)
async def create(request):
    data = read_form(request.POST)
    try:
        fields = validate(data, request.registry.validation_context)
    except Invalid as exc:
        request.response.status = 422
        return await channels_page(request, {**data, "secret": ""}, exc.fields)
    channel = await service.create_channel(request.dbsession, request.context.owner_id, fields)
    request.session.flash(
        f"The channel {channel.name} is added: send it a test message, then choose it on your monitors' forms."
    )
    return HTTPFound(request.route_path("channel", channel_id=channel.id))


@view_config(
    route_name="channel",
    request_method="GET",
    renderer="myapp:alerts/templates/alerts/channel.jinja2",
    permission="view",
)
async def channel_page(request):
    channel = request.context.channel
    return {"channel": channel, "deliveries": await service.recent_deliveries(request.dbsession, channel.id)}


@view_config(route_name="channel.test", request_method="POST", permission="edit", async_timeout=sender.TIMEOUT + 5)
async def test(request):
    attempt = await sender.send_test(
        request.registry.outbox.sending(request.loop_state), request.dbsession, request.context.channel
    )
    request.session.flash("The test message is sent." if attempt.ok else f"The test message failed: {attempt.error}.")
    return HTTPFound(request.route_path("channel", channel_id=request.context.channel.id))


@view_config(
    route_name="channel.delete",
    request_method="GET",
    renderer="myapp:templates/confirm_delete.jinja2",
    permission="delete",
)
def confirm_delete(request):
    channel = request.context.channel
    return {
        "what": f"the channel {channel.name}",
        "consequence": "Monitors stop alerting through it.",
        "action": request.route_path("channel.delete", channel_id=channel.id),
        "back": request.route_path("channel", channel_id=channel.id),
    }


@view_config(route_name="channel.delete", request_method="POST", permission="delete")
async def delete(request):
    channel = request.context.channel
    await service.delete_channel(request.dbsession, channel)
    request.session.flash(f"The channel {channel.name} is deleted.")
    return HTTPFound(request.route_path("channels"))
