"""What an alert says: one JSON document per delivery, and the text made from it (e-mail, Slack)."""

import json

from ..text import duration, iso, one_line

TITLES = {"down": "DOWN", "up": "back UP", "degraded": "DEGRADED", "reminder": "still DOWN", "test": "a test message"}
CONFIRM = (
    "Someone asked to send the alerts of their myapp monitors to this address. If it was you, confirm it "
    "by opening this link and pressing Confirm:\n\n{link}\n\nIf it was not you, ignore this message: "
    "nothing else will be sent here."
)
STORM = "{} monitors failed at once; this may be the monitor's own network"
STORM_LIST = 100


def document(key, event, monitor, at, cause=None, down_seconds=None, channel=None, link=None):
    """The facts of an alert, stored with its delivery; ``as_sent`` adds the link to the monitor's page.

    ``monitor`` has id, name, url, kind, address, state (None for a channel's test message).
    """
    doc = {"delivery": key, "event": event, "at": iso(at, "seconds")}
    if monitor is not None:
        doc["monitor"] = monitor_facts(monitor)
    if cause is not None:
        doc["cause"] = cause
    if down_seconds is not None:
        doc["down_seconds"] = int(down_seconds)
    if channel is not None:
        doc["channel"] = channel
    if link is not None:
        doc["link"] = link
    return doc


def monitor_facts(monitor):
    names = ("id", "name", "kind", "address", "url", "state")
    return {name: getattr(monitor, name) for name in names}


def storm_document(key, failed, at):
    """One message for many monitors that went DOWN together, [(monitor, cause)]: a storm.  It lists
    the first ``STORM_LIST`` of them; ``count`` says how many there were."""
    return {
        "delivery": key,
        "event": "storm",
        "at": iso(at, "seconds"),
        "count": len(failed),
        "message": STORM.format(len(failed)),
        "monitors": [{**monitor_facts(m), "cause": cause} for m, cause in failed[:STORM_LIST]],
    }


def as_sent(doc, public_url):
    """The webhook's JSON body (and the source of every other form of the message): the document,
    with ``monitor.page``, the monitor's page under ``myapp.public_url`` (None without that setting)."""

    def page(monitor):
        return {**monitor, "page": f"{public_url.rstrip('/')}/monitors/{monitor['id']}" if public_url else None}

    if "monitor" in doc:
        doc = {**doc, "monitor": page(doc["monitor"])}
    if "monitors" in doc:
        doc = {**doc, "monitors": [page(m) for m in doc["monitors"]]}
    return doc


def subject(doc):
    """The e-mail subject: fixed words, and the monitor's name (its owner's words: on one line)."""
    if doc["event"] == "storm":
        return f"myapp: {doc['count']} monitors failed at once"
    if doc["event"] == "test":
        return "myapp: a test message"
    if doc["event"] == "confirm":
        return "myapp: confirm this address for alerts"
    return f"myapp: {one_line(doc['monitor']['name'], 100)} is {TITLES[doc['event']]}"


def utc(doc):
    """The document's time as people read it: 2026-11-22 04:31:07 (UTC)."""
    return doc["at"].replace("T", " ").removesuffix("Z")


def text(doc):
    """The message in words: the monitor, its URL, the state, the time in UTC, a link."""
    if doc["event"] == "confirm":
        return CONFIRM.format(link=doc["link"])
    if doc["event"] == "storm":
        lines = [f"{doc['message']}.", f"At {utc(doc)} UTC, each checked twice:"]
        lines += [
            f"- {m['name']} ({m.get('address', m['url'])}): {m['cause']}" + (f" {m['page']}" if m.get("page") else "")
            for m in doc["monitors"]
        ]
        if doc["count"] > len(doc["monitors"]):
            lines.append(f"... and {doc['count'] - len(doc['monitors'])} more.")
        return "\n".join(lines)
    if doc["event"] == "test":
        return (
            f"This is a test message from myapp for the channel {doc.get('channel', '')}, sent at "
            f"{utc(doc)} UTC. Alerts will arrive like this one."
        )
    monitor = doc["monitor"]
    where = monitor.get("address", monitor["url"])  # documents stored before kinds had an address
    lines = [f"{monitor['name']} is {TITLES[doc['event']]} ({where}).", f"At {utc(doc)} UTC."]
    if "cause" in doc:
        lines.append(f"Cause: {doc['cause']}.")
    if "down_seconds" in doc:
        tense = "It has been" if doc["event"] == "reminder" else "It was"
        lines.append(f"{tense} down for {duration(doc['down_seconds'])}.")
    if monitor.get("page"):
        lines.append(f"Details: {monitor['page']}")
    return "\n".join(lines)


def webhook_body(doc, slack):
    """The bytes a webhook receives: the document, or Slack's {"text": ...}."""
    return json.dumps({"text": text(doc)} if slack else doc, separators=(",", ":")).encode()
