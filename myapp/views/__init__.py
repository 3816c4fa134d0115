"""Views, one module per area; JSON API and pages apart."""


def iso(moment):
    """A stored (UTC) time as the API writes it: ISO 8601 with a Z."""
    return moment.isoformat(timespec="milliseconds" if moment.microsecond else "seconds") + "Z" if moment else None
