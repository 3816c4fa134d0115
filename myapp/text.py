"""Times, durations, percentages and one-line text as people and the API read them: one module every
area uses.

Times are stored naive in UTC; ``iso`` writes them with a ``Z``.
"""

import datetime
import unicodedata

#: what may not stand in one line of text: controls, format characters (bidi overrides, zero widths),
#: line and paragraph separators
NOT_IN_A_LINE = frozenset(("Cc", "Cf", "Zl", "Zp"))


def one_line(text: str, limit: int = 300) -> str:
    """``text`` on one line: what may not stand in a line (NOT_IN_A_LINE) a space, at most ``limit``
    characters.  For what others wrote (a remote server's words in a check's cause, a name stored before
    line breaks were refused) where it goes into a header, a page or a log."""
    return "".join(" " if unicodedata.category(c) in NOT_IN_A_LINE else c for c in text[:limit])


def iso(moment: datetime.datetime | None, timespec: str | None = None) -> str | None:
    """A stored (UTC) time as ISO 8601 with a Z, None for None: with milliseconds when it has them (the
    API), or to ``timespec`` ("seconds": alert documents and pages)."""
    if moment is None:
        return None
    return moment.isoformat(timespec=timespec or ("milliseconds" if moment.microsecond else "seconds")) + "Z"


def duration(seconds: float) -> str:
    """Seconds as a person says them: "45 s", "3 min 12 s", "2 h 5 min", "4 d 3 h"."""
    seconds = int(max(seconds, 0))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def counted(number: int, noun: str) -> str:
    """``number`` and ``noun`` ("monitors", "status pages"), the noun singular for one: "1 status page"."""
    return f"{number} {noun[:-1] if number == 1 and noun.endswith('s') else noun}"


def percent(value: float | None) -> str:
    """A percentage as shown: "99.5%", "100%", or "no data" for None."""
    return "no data" if value is None else f"{value:.2f}%".replace(".00%", "%")
