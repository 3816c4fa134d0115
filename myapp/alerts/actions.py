"""What a request does with a channel, for the API and the pages alike: make or change one (an e-mail
address is confirmed by its owner before it receives alerts), and send it a test message (on the service
loop: myapp.on_demand)."""

from ..accounts.service import Throttle
from ..on_demand import OnDemand
from ..services import find
from . import AlertSettings, service
from .outbox import Outbox


class NotConfirmed(Exception):
    """A test message to an address that is not confirmed yet: 409."""


def to_confirm(request, kind):
    """The confirmation link maker for a channel of ``kind`` (an e-mail address must be confirmed, unless the
    operator says otherwise: ``alerts.confirm_email``), or None."""
    if kind != "email" or not find(request.registry, AlertSettings).confirm_email:
        return None
    return lambda token: request.route_url("channel.confirm", token=token)


async def count_confirmation(request, target):
    """Count a confirmation mail to ``target`` for the caller: accounts.service.Throttled past the address's
    limit (``alerts.confirmations_per_day``) or the user's (``alerts.new_addresses_per_day``)."""
    await find(request.registry, Throttle).attempt(
        request.dbsession, {"confirm_address": target.lower(), "confirm_user": request.context.owner_id}
    )


async def create(request, fields):
    """A new channel of the caller's: TooMany past ``alerts.max_channels_per_user``, Throttled past the
    confirmation mails allowed."""
    confirm = to_confirm(request, fields["kind"])
    if confirm is not None:
        await count_confirmation(request, fields["target"])
    return await service.create_channel(
        request.dbsession,
        request.context.owner_id,
        fields,
        find(request.registry, AlertSettings).max_channels_per_user,
        confirm,
    )


async def update(request, channel, changes):
    """``changes`` to ``channel``; a new e-mail address is confirmed again."""
    kind = changes.get("kind", channel.kind)
    new_address = "target" in changes and changes["target"] != channel.target or kind != channel.kind
    confirm = to_confirm(request, kind) if new_address else None
    if confirm is not None:
        await count_confirmation(request, changes.get("target", channel.target))
    return await service.update_channel(request.dbsession, channel, changes, confirm)


async def confirm_again(request, channel):
    """Send the confirmation again (a lost or old message); Throttled as a first one is."""
    confirm = to_confirm(request, channel.kind)
    if confirm is not None and channel.confirmed_at is None:
        await count_confirmation(request, channel.target)
        await service.ask_to_confirm(request.dbsession, channel, confirm)


async def send_test(request, channel):
    """(done, Attempt) of a test message through ``channel``: sent on the service loop, waited for a few
    seconds at most.  NotConfirmed before its address is; Throttled past ``alerts.tests_per_hour`` (the
    user's, or the address's); on_demand.Busy with too many in flight."""
    if channel.confirmed_at is None:
        raise NotConfirmed("Confirm the address first: follow the link in the message sent to it.")
    user_id = request.context.owner_id

    def count():
        return find(request.registry, Throttle).attempt(
            request.dbsession, {"test_user": user_id, "test_address": f"{channel.kind}:{channel.target.lower()}"}
        )

    return await find(request.registry, OnDemand).run(
        request, user_id, find(request.registry, Outbox).send_test(service.ChannelTarget.of(channel)), count
    )
