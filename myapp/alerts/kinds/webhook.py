"""Webhooks: a JSON POST of the alert's document (or Slack's ``{"text": ...}``), signed when the channel
has a secret, through the guarded client (no redirects: a webhook that moved is a configuration to fix,
and a redirect could point inside)."""

import hashlib
import hmac

from ...outbound import check_url
from .. import messages
from .base import ChannelKind

USER_AGENT = "myapp-alerts/0.1"
READ_AT_MOST = 64 * 1024


def signature(secret, body):
    """The X-Myapp-Signature header's value: sha256=<hex HMAC-SHA256 of the body with the secret>."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class Webhook(ChannelKind):
    name, title, target_label = "webhook", "Webhook", "URL"
    target_help = "an http(s) URL that receives a JSON POST; with a secret, signed in X-Myapp-Signature"
    options = frozenset({"secret", "slack"})

    def validate_target(self, value, context):
        return check_url(value, context.get("guard"))

    async def send(self, sending, channel, doc):
        body = messages.webhook_body(doc, channel.slack)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Myapp-Delivery": doc["delivery"],
            "X-Myapp-Event": doc["event"],
        }
        if channel.secret:
            headers["X-Myapp-Signature"] = signature(channel.secret, body)
        async with sending.http.post(channel.target, data=body, headers=headers, allow_redirects=False) as res:
            await res.content.read(READ_AT_MOST)
            return res.status
