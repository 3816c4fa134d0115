"""Check kinds: what a monitor can check.  Each kind is one object (base.CheckKind) that validates
its settings, runs one check, and describes itself for forms, the API and the manifest.

A new kind is a module with a CheckKind subclass and one entry in KINDS below; the monitor's fields
(schema.MonitorFields) take the kind's settings model, the scheduler runs its check.
"""

from .base import CheckKind
from .http import Http

#: the kinds by name, in the order forms offer them
KINDS = {kind.name: kind for kind in (Http(),)}
NAMES = tuple(KINDS)


async def run(state, monitor):
    """One check of ``monitor`` (its fields as attributes) by its kind, on the loop whose state this is."""
    kind = KINDS[monitor.kind]
    return await kind.check(state, kind.target(monitor))


__all__ = ["KINDS", "NAMES", "CheckKind", "run"]
