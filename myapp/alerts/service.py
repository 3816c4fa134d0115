"""Channels, the monitors that alert through them, and the outbox: Core statements, in the caller's
transaction.

``enqueue`` runs inside ``checks.results.record`` (a listener of its flips): the state change and
its deliveries commit together, and since only one writer wins a monitor row's compare-and-swap, one
state change makes one delivery per channel, whatever the number of processes.
"""

import collections
import dataclasses
import datetime
import hashlib
import json
import operator
import secrets
import uuid

from sqlalchemy import and_, bindparam, delete, insert, select, update
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..accounts.service import check_room
from ..checks.kinds import ADDRESS_FIELDS, address
from ..checks.rules import is_certificate_problem
from ..identity import token_hash
from ..models import Channel, Incident, Monitor, MonitorChannel, claims
from ..models.alert import CHANNEL_EVENTS
from ..models.meta import dialect, utcnow
from . import messages
from .tables import Delivery, DeliveryAttempt

CLAIM_FOR = datetime.timedelta(seconds=60)  # a claimed delivery nobody finished is tried again after this (default)
MAX_BACKOFF = datetime.timedelta(hours=1)


# -- channels -----------------------------------------------------------------------------


def stored(fields):
    """Channel fields as the columns hold them: ``events`` comma-separated, None for all."""
    if fields.get("events") is not None:
        events = fields["events"]
        fields = {**fields, "events": None if set(events) == set(CHANNEL_EVENTS) else ",".join(events)}
    return fields


def events_of(channel):
    """The events ``channel`` is told of, in CHANNEL_EVENTS' order."""
    return list(CHANNEL_EVENTS) if channel.events is None else channel.events.split(",")


def current_fields(channel):
    """The channel's fields as the schema has them, for a change to be checked as a whole."""
    names = ("name", "kind", "target", "secret", "slack", "remind_every")
    return {**{name: getattr(channel, name) for name in names}, "events": events_of(channel)}


async def create_channel(session, user_id, fields, limit=0, confirm=None, now=None):
    """A new channel; accounts.service.TooMany when the user has ``limit`` already.

    ``confirm``: the address must be confirmed before it receives alerts; a function that makes the link
    to do it from a token, which is sent there (None: the channel is taken as confirmed).
    """
    await check_room(session, user_id, Channel.__table__, limit, "alert channels")
    now = now or utcnow()
    channel = Channel(user_id=user_id, **stored(fields), created_at=now, updated_at=now, confirmed_at=now)
    session.add(channel)
    await session.flush()
    if confirm is not None:
        await ask_to_confirm(session, channel, confirm, now)
    return channel


async def update_channel(session, channel, changes, confirm=None, now=None):
    """Apply ``changes``; ``confirm`` (see create_channel) when they make an address that must be confirmed."""
    now = now or utcnow()
    for name, value in stored(changes).items():
        setattr(channel, name, value)
    channel.updated_at = now
    await session.flush()
    if confirm is not None:
        await ask_to_confirm(session, channel, confirm, now)
    return channel


async def ask_to_confirm(session, channel, link, now=None):
    """Stop alerts to the channel until the link of a message sent to it now is followed (``confirm``)."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    channel.confirmed_at, channel.confirm_hash = None, token_hash(token)
    await session.flush()
    key = new_key()
    await session.execute(
        insert(Delivery).values(
            key=key,
            channel_id=channel.id,
            monitor_id=None,
            event="confirm",
            status="pending",
            attempts=0,
            document=json.dumps(messages.document(key, "confirm", None, now, link=link(token))),
            due_at=now,
            created_at=now,
        )
    )


async def confirm(session, token, now=None):
    """The channel whose confirmation link holds ``token``, confirmed now; None when there is none."""
    channel = await session.scalar(select(Channel).where(Channel.confirm_hash == token_hash(token)))
    if channel is not None:
        channel.confirmed_at, channel.confirm_hash = now or utcnow(), None
        await session.flush()
    return channel


async def delete_channel(session, channel):
    for table in (MonitorChannel, Delivery):  # SQLite without foreign keys enforced too
        await session.execute(delete(table).where(table.channel_id == channel.id))
    await session.delete(channel)
    await session.flush()


async def list_channels(session, user_id):
    return list(
        await session.scalars(select(Channel).where(Channel.user_id == user_id).order_by(Channel.name, Channel.id))
    )


async def recent_deliveries(session, channel_id, limit=30):
    return (
        await session.execute(
            select(
                Delivery.id,
                Delivery.event,
                Delivery.status,
                Delivery.attempts,
                Delivery.last_error,
                Delivery.created_at,
                Delivery.sent_at,
                Delivery.due_at,
                Monitor.name.label("monitor"),
            )
            .outerjoin(Monitor, Monitor.id == Delivery.monitor_id)
            .where(Delivery.channel_id == channel_id)
            .order_by(Delivery.id.desc())
            .limit(limit)
        )
    ).all()


# -- the outbox: writing ---------------------------------------------------------------------


def new_key():
    return uuid.uuid4().hex


def news(change, storm, cause, events, notify_degraded):
    """What a state change tells one channel (``events``: what it takes; ``notify_degraded``: its monitor's
    wish): "down"; "storm" (a DOWN in a storm, gathered into one message a channel); "up"; "degraded"; or None.
    A DOWN whose cause is the certificate goes to channels that take "certificate" rather than "down"."""
    if change.opens_incident:
        if not takes(events, "certificate" if is_certificate_problem(cause) else "down"):
            return None
        return "storm" if storm else "down"
    if change.closes_incident:
        return "up" if takes(events, "up") else None
    if change.state == "DEGRADED" and notify_degraded and takes(events, "degraded"):
        return "degraded"
    return None


async def enqueue(session, recorded, down_since=None, now=None):
    """Deliveries for the state changes among ``recorded`` [(outcome, transition)]: DOWN with its cause,
    back UP with how long it was down (``down_since``: {monitor id: when its incident started}),
    DEGRADED for monitors that ask.  No query at all when nothing flipped."""
    # into or out of a maintenance window is no news: nothing is sent for it
    flips = collections.defaultdict(list)  # monitor id: its flips, in the order they came (several in a batch)
    for o, c in recorded:
        if c.flipped and c.state != "MAINTENANCE":
            flips[o.monitor_id].append((o, c))
    if not flips:
        return 0
    now = now or utcnow()
    rows = (
        await session.execute(
            select(
                MonitorChannel.channel_id,
                Monitor.id,
                Monitor.name,
                Monitor.notify_degraded,
                Channel.events,
                *(Monitor.__table__.c[name] for name in ADDRESS_FIELDS),
            )
            .join(Monitor, Monitor.id == MonitorChannel.monitor_id)
            .join(Channel, Channel.id == MonitorChannel.channel_id)
            .where(MonitorChannel.monitor_id.in_(flips), Channel.confirmed_at.is_not(None))
        )
    ).all()
    deliveries, storms = [], {}
    for row in rows:
        channel_id = row.channel_id
        down_from = (down_since or {}).get(row.id)  # an incident opened before: its start
        for outcome, change in flips[row.id]:
            monitor = MonitorRow(row.id, row.name, row.url, change.state, row.notify_degraded, row.kind, address(row))
            at = outcome.result.at
            if change.opens_incident:
                down_from = change.streak_started_at
            cause = change.streak_error or outcome.result.error or "failed"
            event = news(change, outcome.storm, cause, row.events, row.notify_degraded)
            if event == "storm":  # grouped below: one message a channel
                storms.setdefault(channel_id, []).append((monitor, cause))
                continue
            if event is None:
                continue
            if event == "down":
                extra = {"cause": cause}
            elif event == "up":
                extra = {"down_seconds": (at - down_from).total_seconds() if down_from else None}
            else:
                extra = {}
            key = new_key()
            deliveries.append(
                pending(key, channel_id, monitor.id, event, messages.document(key, event, monitor, at, **extra), now)
            )
    for channel_id, failed in storms.items():
        key = new_key()
        if len(failed) == 1:
            ((monitor, cause),) = failed
            event, doc = "down", messages.document(key, "down", monitor, now, cause=cause)
        else:
            event, doc = "storm", messages.storm_document(key, failed, now)
        deliveries.append(pending(key, channel_id, None if event == "storm" else failed[0][0].id, event, doc, now))
    if deliveries:
        await session.execute(insert(Delivery), deliveries)
    return len(deliveries)


async def remind(session, now=None):
    """Reminders for monitors still DOWN (not paused, not in maintenance), through the channels that ask for
    them (``remind_every``) and were told of the incident: the n-th is due n periods after the incident
    began, and only the latest is sent (after a pause or a window, one, not all those missed).

    A reminder's key is made of (incident, channel, n), and keys are unique: every process may run this at
    any time, each reminder is written once.  The number of reminders written."""
    now = now or utcnow()
    rows = (
        await session.execute(
            select(
                Channel.id.label("channel_id"),
                Channel.remind_every,
                Channel.events,
                Incident.id.label("incident_id"),
                Incident.started_at,
                Incident.cause,
                Monitor.id,
                Monitor.name,
                Monitor.notify_degraded,
                *(Monitor.__table__.c[name] for name in ADDRESS_FIELDS),
            )
            .select_from(Channel)
            .join(MonitorChannel, MonitorChannel.channel_id == Channel.id)
            .join(Monitor, and_(Monitor.id == MonitorChannel.monitor_id, Monitor.state == "DOWN"))
            .join(Incident, and_(Incident.monitor_id == Monitor.id, Incident.ended_at.is_(None)))
            .where(Channel.remind_every.is_not(None), Channel.confirmed_at.is_not(None))
        )
    ).all()
    due = {}
    for row in rows:
        n = int((now - row.started_at).total_seconds() // row.remind_every)
        told = takes(row.events, "certificate" if is_certificate_problem(row.cause) else "down")
        if n >= 1 and told:
            due[hashlib.sha256(f"remind:{row.incident_id}:{row.channel_id}:{n}".encode()).hexdigest()[:32]] = row, n
    if due:
        written = set(await session.scalars(select(Delivery.key).where(Delivery.key.in_(due))))
        due = {key: row for key, row in due.items() if key not in written}
    deliveries = []
    for key, (row, n) in due.items():
        monitor = MonitorRow(row.id, row.name, row.url, "DOWN", row.notify_degraded, row.kind, address(row))
        down = (now - row.started_at).total_seconds()
        doc = {**messages.document(key, "reminder", monitor, now, cause=row.cause, down_seconds=down), "reminder": n}
        deliveries.append(pending(key, row.channel_id, row.id, "reminder", doc, now))
    if deliveries:  # another process may have written some since: those are left as they are
        await session.execute(insert_new(dialect(session)), deliveries)
    return len(deliveries)


def insert_new(dialect):
    """INSERT deliveries, leaving out those whose key is there already."""
    if dialect == "mysql":
        statement = mysql_insert(Delivery.__table__)
        return statement.on_duplicate_key_update({"key": statement.inserted.key})
    return sqlite_insert(Delivery.__table__).on_conflict_do_nothing(index_elements=["key"])


def pending(key, channel_id, monitor_id, event, doc, now):
    """A delivery's row, to be sent now."""
    return {
        "key": key,
        "channel_id": channel_id,
        "monitor_id": monitor_id,
        "event": event,
        "document": json.dumps(doc),
        "status": "pending",
        "attempts": 0,
        "due_at": now,
        "created_at": now,
    }


def takes(events, event):
    """Whether a channel whose ``events`` column is this is told of ``event``."""
    return events is None or event in events.split(",")


@dataclasses.dataclass(frozen=True)
class MonitorRow:
    id: int
    name: str
    url: str | None  # HTTP monitors'
    state: str
    notify_degraded: bool
    kind: str
    address: str  # what is checked, in a few words (checks.kinds.address)


# -- the outbox: sending ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Claimed:
    id: int
    key: str
    event: str
    document: dict
    attempts: int
    channel: object  # kind, target, secret, slack, name


_DUE = (
    select(
        Delivery.id,
        Delivery.key,
        Delivery.event,
        Delivery.document,
        Delivery.attempts,
        Delivery.due_at,
        Delivery.channel_id,
        Channel.user_id,
        Channel.kind,
        Channel.target,
        Channel.secret,
        Channel.slack,
        Channel.name,
    )
    .join(Channel, Channel.id == Delivery.channel_id)
    .where(
        Delivery.status == "pending",
        Delivery.due_at <= bindparam("now"),
        Channel.user_id.not_in(bindparam("busy", expanding=True)),
        Delivery.channel_id.not_in(bindparam("busy_channels", expanding=True)),
    )
    .order_by(Delivery.due_at)
)
_TABLE = Delivery.__table__


@dataclasses.dataclass(frozen=True)
class Sharing:
    """How many deliveries one process sends at once of one owner, through one channel; and how many of
    each it sends now (``owners``, ``channels``: {id: count})."""

    per_owner: int
    per_channel: int
    owners: dict
    channels: dict

    def pick(self, rows):
        """The rows that keep every owner and channel within its share."""
        shares = [(claims.BY_OWNER, self.per_owner, self.owners), (_CHANNEL, self.per_channel, self.channels)]
        return claims.shared_fairly(rows, shares)


_CHANNEL = operator.attrgetter("channel_id")


async def claim(session, owner, limit, sharing=None, now=None, claim_for=CLAIM_FOR):
    """Take up to ``limit`` pending deliveries that are due (models.claims.take, as monitors are taken):
    (the claims, whether ``limit`` rows were read).  ``sharing``: an owner or channel at its share is
    passed over, so one slow receiver or owner does not hold the others' alerts back."""
    now = now or utcnow()
    busy, busy_channels = [], []
    if sharing is not None:
        busy = [user_id for user_id, n in sharing.owners.items() if n >= sharing.per_owner]
        busy_channels = [channel_id for channel_id, n in sharing.channels.items() if n >= sharing.per_channel]
    read, taken = await claims.take(
        session,
        _DUE.limit(limit),
        _TABLE,
        owner,
        lambda rows: now + claim_for,
        {"now": now, "busy": busy, "busy_channels": busy_channels},
        pick=None if sharing is None else sharing.pick,
        lock_of=Delivery,
    )
    claimed = [
        Claimed(
            r.id,
            r.key,
            r.event,
            json.loads(r.document),
            r.attempts,
            ChannelTarget(r.channel_id, r.kind, r.target, r.secret, r.slack, r.name, r.user_id),
        )
        for r in taken
    ]
    return claimed, len(read) == limit


@dataclasses.dataclass(frozen=True)
class ChannelTarget:
    """What sending needs of a channel, as plain data another loop may read."""

    id: int
    kind: str
    target: str
    secret: str | None
    slack: bool
    name: str
    user_id: int

    @classmethod
    def of(cls, channel):
        return cls(
            channel.id, channel.kind, channel.target, channel.secret, channel.slack, channel.name, channel.user_id
        )


@dataclasses.dataclass(frozen=True)
class Attempt:
    at: datetime.datetime
    ok: bool
    status_code: int | None
    latency_ms: int
    error: str | None


def backoff(attempts, base_seconds):
    """The wait before attempt ``attempts + 1``: base, 2 x base, 4 x base, ... at most an hour."""
    return min(datetime.timedelta(seconds=base_seconds * 2 ** (attempts - 1)), MAX_BACKOFF)


async def finish(session, owner, done, max_attempts, base_seconds):
    """Record each attempt [(Claimed, Attempt)]: sent, or tried again later, or failed for good."""
    for claimed, attempt in done:
        attempts = claimed.attempts + 1
        await session.execute(
            insert(DeliveryAttempt),
            [
                {
                    "delivery_id": claimed.id,
                    "at": attempt.at,
                    "ok": attempt.ok,
                    "status_code": attempt.status_code,
                    "latency_ms": attempt.latency_ms,
                    "error": attempt.error,
                }
            ],
        )
        if attempt.ok:
            values = {"status": "sent", "sent_at": attempt.at, "last_error": None}
        elif attempts >= max_attempts:
            values = {"status": "failed", "last_error": attempt.error}
        else:
            values = {"due_at": attempt.at + backoff(attempts, base_seconds), "last_error": attempt.error}
        await session.execute(
            update(_TABLE)
            .where(_TABLE.c.id == claimed.id, _TABLE.c.claimed_by == owner)
            .values(attempts=attempts, claimed_by=None, **values)
        )


async def give_up(session, owner, claimed, why):
    """A delivery whose attempt the database would not record: failed for good, with the reason, rather than
    sent again each time its claim runs out."""
    await session.execute(
        update(_TABLE)
        .where(_TABLE.c.id == claimed.id, _TABLE.c.claimed_by == owner)
        .values(status="failed", claimed_by=None, last_error=f"its attempt could not be recorded: {why}"[:300])
    )


async def record_test(session, channel, key, doc, attempt):
    """A test message sent from a request: kept with the channel's deliveries, with its one attempt."""
    result = await session.execute(
        insert(Delivery).values(
            key=key,
            channel_id=channel.id,
            monitor_id=None,
            event="test",
            document=json.dumps(doc),
            status="sent" if attempt.ok else "failed",
            attempts=1,
            due_at=attempt.at,
            last_error=attempt.error,
            created_at=attempt.at,
            sent_at=attempt.at if attempt.ok else None,
        )
    )
    await session.execute(
        insert(DeliveryAttempt).values(
            delivery_id=result.inserted_primary_key[0],
            at=attempt.at,
            ok=attempt.ok,
            status_code=attempt.status_code,
            latency_ms=attempt.latency_ms,
            error=attempt.error,
        )
    )
