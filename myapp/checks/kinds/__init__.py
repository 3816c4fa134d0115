"""Check kinds: what a monitor can check.  Each kind is one object (base.CheckKind) that validates
its settings, runs one check, and describes itself for forms, the API and the manifest.

A new kind is a module with a CheckKind subclass and one entry in KINDS below; the monitor's fields
(schema.MonitorFields) take the kind's settings model, the scheduler runs its check.
"""

import types

from ..state import Result
from .base import CheckKind, Row
from .dns import Dns
from .heartbeat import Heartbeat
from .http import Http
from .tcp import Tcp

#: the kinds by name, in the order forms offer them
KINDS: dict[str, CheckKind] = {kind.name: kind for kind in (Http(), Tcp(), Dns(), Heartbeat())}
NAMES = tuple(KINDS)
#: the kinds checked by what they are sent (pings), not by reaching out
PINGED = tuple(name for name, kind in KINDS.items() if not kind.active)


async def run(state: types.SimpleNamespace, monitor: Row) -> Result:
    """One check of ``monitor`` (its fields as attributes) by its kind, on the loop whose state this is."""
    kind = KINDS[monitor.kind]
    return await kind.check(state, kind.target(monitor))


#: what ``address`` reads of a monitor
ADDRESS_FIELDS = (
    "kind",
    "url",
    "method",
    "host",
    "port",
    "tls",
    "record_type",
    "resolver",
    "interval",
    "grace",
    "cron",
    "timezone",
)


def address(row: Row) -> str:
    """What ``row`` (ADDRESS_FIELDS as attributes) checks, in a few words: a URL, tcp://host:port, ..."""
    return KINDS[row.kind].address(row)


__all__ = ["ADDRESS_FIELDS", "KINDS", "NAMES", "PINGED", "CheckKind", "address", "run"]
