"""What every channel kind is: the interface the outbox, the schema and the form use."""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Sending:
    """What a send needs besides the channel: the loop's guarded HTTP client and the area's settings."""

    http: object  # aiohttp.ClientSession (myapp.outbound)
    settings: object  # alerts.AlertSettings
    public_url: str | None
    guard: object = None  # outbound.Guard, for connections that are not the HTTP client's
    threads: object = None  # threads.SendThreads, for blocking senders
    names: object = None  # the loop's outbound.Names, for blocking senders' lookups


class Failed(Exception):
    """A send that failed, the reason in words (shown to the channel's owner as it is)."""


class ChannelKind:
    """One kind of channel.  Subclasses set the names and implement ``validate_target`` and ``send``."""

    name = ""  # stored in channels.kind
    title = ""  # for people: "Webhook"
    target_label = ""  # what the target is: "URL", "Address"
    target_help = ""  # one line under the form's field
    options = frozenset()  # which of the channel's optional fields ("secret", "slack") this kind takes
    secret_target = False  # whether the target holds secrets: never shown whole, kept when an edit leaves it empty

    def validate_target(self, value, context):
        """The target as stored, or ValueError in words; ``context`` is the request's validation context."""
        raise NotImplementedError

    async def send(self, sending, channel, doc):
        """Send ``doc`` (a document as sent: messages.as_sent) through ``channel``; the receiver's HTTP status,
        or None when the protocol has none.  Raises for a failure (the sender says it in words)."""
        raise NotImplementedError

    def shown_target(self, value):
        """The target as people and clients see it (a secret one masked)."""
        return value

    def describe(self):
        """The kind for forms and clients."""
        return {
            "name": self.name,
            "title": self.title,
            "target": self.target_label,
            "help": self.target_help,
            "options": sorted(self.options),
        }
