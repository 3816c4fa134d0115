"""Browser pages for alert channels: the list and form, a channel's deliveries, a test, deletion."""

from pyramid.httpexceptions import HTTPFound
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from ..accounts.service import Throttled, TooMany
from ..deleting import deletion
from ..on_demand import Busy
from ..services import find
from ..validation import Invalid, validation_context
from . import AlertSettings, actions, service
from .kinds import KINDS
from .kinds.apprise import SERVICES
from .schema import validate


def refused(exc):
    """Why the owner was refused, in words (see api.refusals)."""
    if isinstance(exc, Throttled):
        return f"too many messages to this address or from you; try again in {exc.retry_after} seconds"
    return str(exc).rstrip(".")


def read_form(post, channel=None):
    """The fields of the form; for a change of ``channel``, an empty secret or (secret) target keeps its own."""
    data = {
        "name": post.get("name", ""),
        "kind": post.get("kind", ""),
        "target": post.get("target", "").strip(),
        "slack": bool(post.get("slack")),
        # a form that showed the events sends "events_shown": none ticked is then a choice (refused), not all
        "events": post.getall("events") if post.get("events_shown") else None,
        "remind_every": reminders(post.get("remind_minutes", "")),
    }
    if post.get("secret"):
        data["secret"] = post["secret"]
    if (
        channel is not None
        and not data["target"]
        and data["kind"] == channel.kind
        and KINDS[channel.kind].secret_target
    ):
        del data["target"]
    return data


def reminders(minutes):
    """The form's minutes between reminders, as seconds; None for none; the text as typed when it is no number
    (the schema says what is wrong with it)."""
    minutes = minutes.strip()
    if not minutes:
        return None
    return int(minutes) * 60 if minutes.isdecimal() and len(minutes) < 7 else minutes


def form_values(data):
    """What the form shows again after a refusal: never a secret."""
    shown = {**data, "secret": ""}
    every = data.get("remind_every")
    shown["remind_minutes"] = every // 60 if isinstance(every, int) else every or ""
    return shown


def form_context(values=None, errors=None, channel=None):
    """What the channel form needs; for a change of ``channel``, its target masked when it holds secrets."""
    kept = channel is not None and KINDS[channel.kind].secret_target
    return {
        "kept": KINDS[channel.kind].shown_target(channel.target) if kept else None,
        "values": values or {},
        "errors": errors or {},
        "kinds": list(KINDS.values()),
        "services": SERVICES,
    }


async def channels_page(request, values=None, errors=None):
    return {
        "channels": await service.list_channels(request.dbsession, request.context.owner_id),
        **form_context(values, errors),
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
        fields = validate(data, validation_context(request.registry))
    except Invalid as exc:
        request.response.status = 422
        return await channels_page(request, form_values(data), exc.fields)
    try:
        channel = await actions.create(request, fields)
    except (Throttled, TooMany) as exc:
        request.response.status = 429 if isinstance(exc, Throttled) else 409
        return await channels_page(request, form_values(data), {"target": refused(exc)})
    if channel.confirmed_at is None:
        request.session.flash(
            f"The channel {channel.name} is added. A message with a link is on its way to {channel.target}: "
            "alerts go there once the link is followed."
        )
    else:
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
    return {
        "channel": channel,
        "events": service.events_of(channel),
        "deliveries": await service.recent_deliveries(request.dbsession, channel.id),
    }


@view_config(
    route_name="channel.edit",
    request_method="GET",
    renderer="myapp:alerts/templates/alerts/channel_edit.jinja2",
    permission="edit",
)
def edit_form(request):
    channel = request.context.channel
    values = service.current_fields(channel)
    if KINDS[channel.kind].secret_target:
        values["target"] = ""
    return {"channel": channel, **form_context(form_values(values), channel=channel)}


@view_config(
    route_name="channel.edit",
    request_method="POST",
    renderer="myapp:alerts/templates/alerts/channel_edit.jinja2",
    permission="edit",
)
async def edit(request):
    channel = request.context.channel
    data = read_form(request.POST, channel)
    if "secret" not in data and data["kind"] != "webhook":
        data["secret"] = None  # a secret signs webhooks only: another kind drops it
    try:
        changes = validate(data, validation_context(request.registry), service.current_fields(channel))
        await actions.update(request, channel, changes)
    except Invalid as exc:
        status, errors = 422, exc.fields
    except Throttled as exc:
        status, errors = 429, {"target": refused(exc)}
    else:
        note = "" if channel.confirmed_at is not None else f" A message with a link is on its way to {channel.target}."
        request.session.flash(f"The channel {channel.name} is saved.{note}")
        return HTTPFound(request.route_path("channel", channel_id=channel.id))
    request.response.status = status
    return {"channel": channel, **form_context(form_values(data), errors, channel)}


@view_config(route_name="channel.test", request_method="POST", permission="edit")
async def test(request):
    try:
        done, attempt = await actions.send_test(request, request.context.channel)
    except (Throttled, Busy, actions.NotConfirmed) as exc:
        request.session.flash(f"No test message was sent: {refused(exc)}.", "error")
    else:
        if not done:
            request.session.flash("The test message is still being sent; its result will show below.")
        elif attempt.ok:
            request.session.flash("The test message is sent.")
        else:
            request.session.flash(f"The test message failed: {attempt.error}.{smtp_hint(request, attempt)}", "error")
    return HTTPFound(request.route_path("channel", channel_id=request.context.channel.id))


def smtp_hint(request, attempt):
    """For a failed e-mail: where the SMTP server is set."""
    if request.context.channel.kind != "email":
        return ""
    settings = find(request.registry, AlertSettings)
    return (
        f" Mail goes through the SMTP server {settings.smtp_host}:{settings.smtp_port}, set by the operator in the "
        ".ini file (smtp.host, smtp.port, smtp.tls, smtp.username)."
    )


@view_config(route_name="channel.confirm.send", request_method="POST", permission="edit")
async def confirm_again(request):
    channel = request.context.channel
    try:
        await actions.confirm_again(request, channel)
    except Throttled as exc:
        request.session.flash(f"Not sent: {refused(exc)}.")
    else:
        request.session.flash(f"A message with a link to confirm it is on its way to {channel.target}.")
    return HTTPFound(request.route_path("channel", channel_id=channel.id))


@view_config(
    route_name="channel.confirm",
    request_method="GET",
    renderer="myapp:alerts/templates/alerts/confirm.jinja2",
    permission=NO_PERMISSION_REQUIRED,
)
def confirm_form(request):
    """The link of a confirmation message: a button, so that a mail scanner that follows links confirms nothing."""
    return {"confirmed": None}


@view_config(
    route_name="channel.confirm",
    request_method="POST",
    renderer="myapp:alerts/templates/alerts/confirm.jinja2",
    permission=NO_PERMISSION_REQUIRED,
)
async def confirm(request):
    channel = await service.confirm(request.dbsession, request.matchdict["token"])
    if channel is None:
        request.response.status = 404
    return {"confirmed": channel is not None}


@deletion(
    "channel.delete",
    what=lambda channel: f"the channel {channel.name}",
    consequence=lambda channel: "Monitors stop alerting through it.",
    back=lambda request, channel: request.route_path("channel", channel_id=channel.id),
)
async def delete(request, channel):
    await service.delete_channel(request.dbsession, channel)
    return request.route_path("channels")
