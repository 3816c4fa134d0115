"""Channels, the monitors that alert through them, and the outbox: Core statements, in the caller's
transaction.

``enqueue`` runs inside ``monitors.service.record`` (a listener of its flips): the state change and
its deliveries commit together, and since only one writer wins a monitor row's compare-and-swap, one
state change makes one delivery per channel, whatever the number of processes.
"""

import dataclasses
import datetime
import json
import uuid

from sqlalchemy import bindparam, delete, insert, select, update

from ..models import Channel, Delivery, DeliveryAttempt, Monitor, MonitorChannel
from ..models.meta import utcnow
from . import messages

CLAIM_FOR = datetime.timedelta(seconds=60)  # a claimed delivery nobody finished is tried again after this
MAX_BACKOFF = datetime.timedelta(hours=1)


# -- channels -----------------------------------------------------------------------------


async def create_channel(session, user_id, fields, now=None):
    now = now or utcnow()
    channel = Channel(user_id=user_id, **fields, created_at=now, updated_at=now)
    session.add(channel)
    await session.flush()
    return channel


async def update_channel(session, channel, changes, now=None):
    for name, value in changes.items():
        setattr(channel, name, value)
    channel.updated_at = now or utcnow()
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


async def enqueue(session, recorded, down_since=None, now=None):
    """Deliveries for the state changes among ``recorded`` [(outcome, transition)]: DOWN with its cause,
    back UP with how long it was down (``down_since``: {monitor id: when its incident started}),
    DEGRADED for monitors that ask.  No query at all when nothing flipped."""
    # into or out of a maintenance window is no news: nothing is sent for it
    flips = {o.monitor_id: (o, c) for o, c in recorded if c.flipped and c.state != "MAINTENANCE"}
    if not flips:
        return 0
    now = now or utcnow()
    rows = (
        await session.execute(
            select(
                MonitorChannel.channel_id, Monitor.id, Monitor.name, Monitor.url, Monitor.state, Monitor.notify_degraded
            )
            .join(Monitor, Monitor.id == MonitorChannel.monitor_id)
            .where(MonitorChannel.monitor_id.in_(flips))
        )
    ).all()
    deliveries, storms = [], {}
    for channel_id, *monitor in rows:
        monitor = MonitorRow(*monitor)
        outcome, change = flips[monitor.id]
        at = outcome.result.at
        if change.opens_incident and outcome.storm:  # grouped below: one message a channel
            storms.setdefault(channel_id, []).append((monitor, change.streak_error or outcome.result.error))
            continue
        if change.opens_incident:
            event, extra = "down", {"cause": change.streak_error or outcome.result.error or "failed"}
        elif change.closes_incident:
            started = (down_since or {}).get(monitor.id)
            event, extra = "up", {"down_seconds": (at - started).total_seconds() if started else None}
        elif change.state == "DEGRADED" and monitor.notify_degraded:
            event, extra = "degraded", {}
        else:
            continue
        key = new_key()
        doc = messages.document(key, event, monitor, at, **extra)
        deliveries.append(
            {
                "key": key,
                "channel_id": channel_id,
                "monitor_id": monitor.id,
                "event": event,
                "document": json.dumps(doc),
                "status": "pending",
                "attempts": 0,
                "due_at": now,
                "created_at": now,
            }
        )
    for channel_id, failed in storms.items():
        key = new_key()
        if len(failed) == 1:
            ((monitor, cause),) = failed
            event, doc = "down", messages.document(key, "down", monitor, now, cause=cause)
        else:
            event, doc = "storm", messages.storm_document(key, failed, now)
        deliveries.append(
            {
                "key": key,
                "channel_id": channel_id,
                "monitor_id": None if event == "storm" else failed[0][0].id,
                "event": event,
                "document": json.dumps(doc),
                "status": "pending",
                "attempts": 0,
                "due_at": now,
                "created_at": now,
            }
        )
    if deliveries:
        await session.execute(insert(Delivery), deliveries)
    return len(deliveries)


@dataclasses.dataclass(frozen=True)
class MonitorRow:
    id: int
    name: str
    url: str
    state: str
    notify_degraded: bool


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
        Channel.kind,
        Channel.target,
        Channel.secret,
        Channel.slack,
        Channel.name,
    )
    .join(Channel, Channel.id == Delivery.channel_id)
    .where(Delivery.status == "pending", Delivery.due_at <= bindparam("now"))
    .order_by(Delivery.due_at)
)
_TABLE = Delivery.__table__


async def claim(session, owner, limit, now=None):
    """Take up to ``limit`` pending deliveries that are due, as ``service.claim`` takes monitors: SKIP
    LOCKED on MySQL/MariaDB, a conditional UPDATE a row on SQLite."""
    now = now or utcnow()
    locking = session.bind.dialect.name == "mysql"
    query = _DUE.limit(limit)
    rows = (
        await session.execute(query.with_for_update(of=Delivery, skip_locked=True) if locking else query, {"now": now})
    ).all()
    if not rows:
        return []
    retake = now + CLAIM_FOR
    taken = rows
    if locking:
        await session.execute(
            update(_TABLE).where(_TABLE.c.id.in_([r.id for r in rows])).values(claimed_by=owner, due_at=retake)
        )
    else:
        taken = []
        for row in rows:
            result = await session.execute(
                update(_TABLE)
                .where(_TABLE.c.id == row.id, _TABLE.c.due_at == row.due_at, _TABLE.c.status == "pending")
                .values(claimed_by=owner, due_at=retake)
            )
            if result.rowcount == 1:
                taken.append(row)
    return [
        Claimed(
            r.id,
            r.key,
            r.event,
            json.loads(r.document),
            r.attempts,
            ChannelTarget(r.kind, r.target, r.secret, r.slack, r.name),
        )
        for r in taken
    ]


@dataclasses.dataclass(frozen=True)
class ChannelTarget:
    kind: str
    target: str
    secret: str | None
    slack: bool
    name: str


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
