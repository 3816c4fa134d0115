"""Apprise: one URL for any of the chat and push services the apprise library speaks (Telegram, Discord,
Slack, Teams, ntfy, Gotify, Pushover, Matrix, PagerDuty, Opsgenie, ...).  The URL holds the service's
tokens: it is stored as typed and shown only with its secrets masked (``shown``).

Only the services of ``SERVICES`` are accepted: each reaches its service over HTTP(S), through requests,
whose connections the guard checks (outbound.guard_blocking_connections).  Apprise's services that would
act on this machine (desktop notifications, syslog, files) or speak other protocols are not offered.

Apprise's services are blocking code: each send runs on a thread of a bounded pool of the process's
(``alerts.apprise_threads``, alerts/threads.py), in one of its owner's slots there.  Its names are looked up
on the loop (outbound.BlockingSend), and at the attempt's deadline its sockets are shut down: whatever the
receiver does (a byte every few seconds keeps every read within its timeout), the thread is free then."""

import asyncio
import contextvars
import dataclasses
import functools
import logging
import threading

import apprise
from apprise.manager_plugins import NotificationManager

from ...outbound import Blocked, BlockingSend, blocking_send
from ...validation import no_control_characters
from .. import messages
from .base import ChannelKind, Failed


@dataclasses.dataclass(frozen=True)
class Service:
    schemes: tuple  # what its URLs start with (the first: plain, the second: over TLS, where both exist)
    title: str
    example: str
    help: str


SERVICES = (
    Service(
        ("tgram",),
        "Telegram",
        "tgram://123456789:AAbbCCdd/-1001234567890",
        "a bot's token (from @BotFather), then the chat's id",
    ),
    Service(("discord",), "Discord", "discord://1234567890/AbCdEfGh", "the id and token of a channel's webhook URL"),
    Service(
        ("slack",),
        "Slack",
        "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ",
        "the three parts of an incoming webhook's URL",
    ),
    Service(
        ("workflows",),
        "Microsoft Teams",
        "workflows://prod-00.westus.logic.azure.com:443/abc123/def456",
        "a Teams workflow's URL, host, workflow id and signature",
    ),
    Service(("ntfy", "ntfys"), "ntfy", "ntfys://ntfy.sh/my-alerts", "the server (ntfy.sh or your own) and the topic"),
    Service(
        ("gotify", "gotifys"),
        "Gotify",
        "gotifys://gotify.example.com/AbCdEf123456",
        "your server and an application's token",
    ),
    Service(
        ("pover",),
        "Pushover",
        "pover://uQiRzpo4DXghDmr9QzzfQu27cmVRsG@azGDORePK8gMaC0QOYAMyEEuzJnyUi",
        "your user key @ an application's token",
    ),
    Service(
        ("matrix", "matrixs"),
        "Matrix",
        "matrixs://bot:password@matrix.example.org/#alerts:example.org",
        "a user and password on a homeserver, and the room",
    ),
    Service(
        ("mmost", "mmosts"),
        "Mattermost",
        "mmosts://chat.example.com/abcdefghijklmnopqrstuvwxyz",
        "your server and an incoming webhook's token",
    ),
    Service(
        ("rocket", "rockets"),
        "Rocket.Chat",
        "rockets://bot:password@chat.example.com/#alerts",
        "a user and password on your server, and the channel",
    ),
    Service(
        ("pagerduty",),
        "PagerDuty",
        "pagerduty://integration_key@api_key",
        "an Events API v2 integration key @ an API key",
    ),
    Service(
        ("opsgenie",), "Opsgenie", "opsgenie://api_key/@on-call-team", "an API integration's key, then whom to alert"
    ),
    Service(("gchat",), "Google Chat", "gchat://workspace/key/token", "the three parts of a space's webhook URL"),
    Service(("pbul",), "Pushbullet", "pbul://o.AbCdEfGhIjKlMnOpQrStUvWxYz", "an access token"),
    Service(
        ("zulip",),
        "Zulip",
        "zulip://alert-bot@example.zulipchat.com/AbCdEfGhIjKlMnOpQrStUvWxYz123456",
        "a bot's name @ your organization, and its API key",
    ),
    Service(
        ("signal", "signals"),
        "Signal",
        "signals://signal-api.example.com/+15551234567/+15557654321",
        "a signal-cli REST API server, the sending number, the numbers to tell",
    ),
    Service(
        ("json", "jsons"),
        "JSON POST",
        "jsons://receiver.example.com/alerts",
        "any server: Apprise's JSON document (version, title, message, type)",
    ),
    Service(
        ("form", "forms"),
        "Form POST",
        "forms://receiver.example.com/alerts",
        "any server: a form with title, message and type",
    ),
)
SCHEMES = {scheme: service for service in SERVICES for scheme in service.schemes}
#: no service keeps anything on disk (Apprise can, for a few: login tokens)
ASSET = apprise.AppriseAsset(storage_mode="memory")
# Apprise imports its ~140 service modules on first use (0.2 to 0.5 s): here, at start, not inside a request.
NotificationManager().load_modules()
#: how each event is told to the service (its colour or priority, where it has them)
TYPES = {"down": "failure", "storm": "failure", "up": "success", "degraded": "warning", "reminder": "failure"}


def scheme_of(value):
    return value.partition("://")[0].lower() if "://" in value else ""


def parse(value):
    """Apprise's object for ``value``, or None when it cannot read it."""
    return apprise.Apprise.instantiate(value, asset=ASSET)


#: services whose URL's path is a secret Apprise's privacy form shows: a receiver's token, ntfy's topics (anyone
#: who knows one can read it), Signal's phone numbers
SECRET_PATHS = frozenset(("json", "jsons", "form", "forms", "ntfy", "ntfys", "signal", "signals"))


def masked(part):
    """A part of a URL as Apprise masks one: its first and last characters."""
    return f"{part[0]}...{part[-1]}" if len(part) > 2 else "..." if part else part


def shown(value):
    """The URL with its tokens, passwords and secret paths masked (Apprise's privacy form, without its query,
    and the path masked where it is the secret)."""
    plugin = parse(value)
    if plugin is None:
        return f"{scheme_of(value)}://…"
    text = plugin.url(privacy=True).partition("?")[0]
    scheme, _, rest = text.partition("://")
    if scheme not in SECRET_PATHS:
        return text
    authority, slash, path = rest.partition("/")
    credentials, at, host = authority.rpartition("@")
    if scheme.startswith("ntfy") and "." not in host and ":" not in host and host != "localhost":
        host = masked(host)  # ntfy://topic: the topic, on ntfy.sh
    path = "/".join(masked(segment) for segment in path.split("/"))
    return f"{scheme}://{credentials}{at}{host}{slash}{path}"


class Apprise(ChannelKind):
    name, title, target_label = "apprise", "Chat or push service (Apprise)", "Apprise URL"
    target_help = "a service's URL as Apprise writes it, for example tgram://bot_token/chat_id; kept secret"
    secret_target = True

    def validate_target(self, value, context):
        value = no_control_characters(value, "an Apprise URL")
        service = SCHEMES.get(scheme_of(value))
        if service is None:
            offered = ", ".join(f"{s.schemes[-1]}://" for s in SERVICES)
            raise ValueError(f"not one of the services offered: start with one of {offered}")
        plugin = parse(value)
        if plugin is None:
            raise ValueError(f"Apprise cannot read this {service.title} URL; it looks like {service.example}")
        host = (getattr(plugin, "host", None) or "").strip("[]")
        guard = context.get("guard")
        if guard is not None and host:  # a name (or a token in the host's place) is checked at each connection
            try:
                guard.check_host(host)
            except Blocked as exc:
                raise ValueError(str(exc)) from None
        return value

    def shown_target(self, value):
        return shown(value)

    def describe(self):
        return {
            **super().describe(),
            "services": [
                {"title": s.title, "schemes": list(s.schemes), "example": s.example, "help": s.help} for s in SERVICES
            ],
        }

    async def send(self, sending, channel, doc):
        plugin = parse(channel.target)
        if plugin is None:
            raise Failed("Apprise cannot read this channel's URL any more")
        plugin.socket_connect_timeout = plugin.socket_read_timeout = sending.settings.attempt_seconds
        connections = BlockingSend(sending.guard, sending.names, asyncio.get_running_loop(), channel.user_id)
        token = blocking_send.set(connections)
        try:
            context = contextvars.copy_context()
        finally:
            blocking_send.reset(token)
        call = functools.partial(
            notify, plugin, messages.subject(doc), messages.text(doc), TYPES.get(doc["event"], "info")
        )
        try:
            ok, said = await sending.threads.run(channel.user_id, functools.partial(context.run, call))
        except asyncio.CancelledError:  # the attempt's deadline (or the process stops)
            connections.cut_off()
            raise
        if not ok:
            raise Failed(connections.blocked or said or "the service refused the message")
        return None


class Reasons(logging.Handler):
    """What Apprise's services log of a failure, kept per thread: a send's reason in the service's words."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.last = {}  # thread id: the last warning logged on it

    def emit(self, record):
        self.last[record.thread] = record.getMessage()


REASONS = Reasons()
logging.getLogger("apprise").addHandler(REASONS)


def notify(plugin, title, body, notify_type):
    """Send through one service, on the calling thread (a worker's): (sent, what the service logged of its
    failure).  The plugin's own notify: Apprise.notify would hand it to Apprise's shared pool."""
    thread = threading.get_ident()
    REASONS.last.pop(thread, None)
    sent = plugin.notify(body=body, title=title, notify_type=notify_type)
    return bool(sent), REASONS.last.pop(thread, None)
