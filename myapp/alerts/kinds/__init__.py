"""Channel kinds: what an alert can be sent through.  Each kind is one object that validates a
channel's target, sends a message, and describes itself for the form and the API (base.ChannelKind).

A new kind is a module with a ChannelKind subclass and one entry in KINDS below; the schema, the
form, the manifest and the outbox find it here.
"""

from .apprise import Apprise
from .base import ChannelKind, Failed, Sending
from .email import Email
from .webhook import Webhook

#: the kinds by name, in the order forms offer them
KINDS = {kind.name: kind for kind in (Webhook(), Email(), Apprise())}
NAMES = tuple(KINDS)

__all__ = ["KINDS", "NAMES", "ChannelKind", "Failed", "Sending"]
