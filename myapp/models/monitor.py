"""Monitors, their check results, incidents, and hourly and daily rollups.  Times are UTC.

A monitor row carries its configuration, its current state (and the streaks that
decide it), the last check (so list pages need no join), and its schedule: the
scheduler picks rows whose ``due_at`` has come, in ``due_at`` order.  While a check
is in flight ``due_at`` is when a claim counts as abandoned (so another process
retakes it) and ``next_check_at`` the next regular check.  ``version`` is bumped by
every write, for compare-and-swap.
"""

import datetime
from typing import Any, Literal, TypeVar

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, false
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import Mapped, mapped_column

from .meta import Base, BigId, Moment, length_of

T = TypeVar("T")

STATES = ("PENDING", "UP", "DEGRADED", "DOWN", "MAINTENANCE", "PAUSED")
Method = Literal["GET", "HEAD", "POST"]
#: upper bounds (ms) of the latency histogram kept in rollups; the last bucket is everything slower
LATENCY_BUCKETS = (25, 50, 100, 200, 300, 500, 750, 1000, 2000, 5000, 10000)
BUCKET_COLUMNS = tuple(f"b{n}" for n in range(len(LATENCY_BUCKETS) + 1))
#: what a rollup adds up, for each monitor and hour (or day)
ROLLUP_COUNTERS = ("checks", "passes", "slow", "latency_sum", *BUCKET_COLUMNS)


class Monitor(Base):
    __tablename__ = "monitors"
    #: the dashboard reads a page of one state in name order straight from this index
    __table_args__ = (Index("ix_monitors_user_id_state_name", "user_id", "state", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16), default="http", server_default="http")  # checks.kinds
    url: Mapped[str | None] = mapped_column(String(2048), default=None)  # http
    host: Mapped[str | None] = mapped_column(String(255), default=None)  # tcp: to connect to; dns: the name asked
    port: Mapped[int | None] = mapped_column(Integer, default=None)  # tcp
    tls: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")  # tcp: a TLS handshake too
    record_type: Mapped[str | None] = mapped_column(String(8), default=None)  # dns
    resolver: Mapped[str | None] = mapped_column(String(64), default=None)  # dns: address[:port]; None: the system's
    expected: Mapped[list[str] | None] = mapped_column(JSON, default=None)  # dns: values the answer must hold
    grace: Mapped[int | None] = mapped_column(Integer, default=None)  # heartbeat: seconds a ping may be late
    cron: Mapped[str | None] = mapped_column(String(100), default=None)  # heartbeat: instead of the interval
    timezone: Mapped[str | None] = mapped_column(String(64), default=None)  # heartbeat: the cron's
    #: heartbeat: the token in the ping URL, and its SHA-256, by which a ping finds its monitor
    ping_token: Mapped[str | None] = mapped_column(String(36), default=None)
    ping_hash: Mapped[str | None] = mapped_column(String(64), default=None, unique=True)
    run_started_at: Mapped[datetime.datetime | None] = mapped_column(Moment, default=None)  # heartbeat: /start
    #: heartbeat: pings stored so far (each ping's ``seq``), and the minute its pings are counted in (the limit
    #: a minute holds across processes: they count here, under the row's lock)
    ping_seq: Mapped[int] = mapped_column(BigInteger, server_default="0")
    ping_window_at: Mapped[datetime.datetime | None] = mapped_column(Moment, nullable=True)
    ping_window_count: Mapped[int] = mapped_column(Integer, server_default="0")
    method: Mapped[str] = mapped_column(String(8), default="GET")
    headers: Mapped[dict[str, str] | None] = mapped_column(JSON, default=None)
    body: Mapped[str | None] = mapped_column(Text, default=None)
    interval: Mapped[int] = mapped_column(Integer, default=60)
    timeout: Mapped[int] = mapped_column(Integer, default=10)
    expect_status: Mapped[str] = mapped_column(String(200), default="200-399")
    keyword: Mapped[str | None] = mapped_column(String(200), default=None)
    keyword_absent: Mapped[str | None] = mapped_column(String(200), default=None)
    json_path: Mapped[str | None] = mapped_column(String(200), default=None)
    json_value: Mapped[str | None] = mapped_column(String(200), default=None)
    degraded_ms: Mapped[int | None] = mapped_column(Integer, default=None)
    tls_days: Mapped[int] = mapped_column(Integer, default=14)
    failures_to_down: Mapped[int] = mapped_column(Integer, default=2)
    successes_to_up: Mapped[int] = mapped_column(Integer, default=1)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    notify_degraded: Mapped[bool] = mapped_column(Boolean, default=False)  # alert on DEGRADED too, not only DOWN
    public_badges: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # /badges/{id}/...

    state: Mapped[str] = mapped_column(String(12), default="PENDING")
    state_since: Mapped[datetime.datetime] = mapped_column(Moment)
    fail_streak: Mapped[int] = mapped_column(Integer, default=0)
    pass_streak: Mapped[int] = mapped_column(Integer, default=0)
    streak_started_at: Mapped[datetime.datetime | None] = mapped_column(Moment, default=None)
    streak_error: Mapped[str | None] = mapped_column(String(300), default=None)

    last_check_at: Mapped[datetime.datetime | None] = mapped_column(Moment, default=None)
    last_ok: Mapped[bool | None] = mapped_column(Boolean, default=None)
    last_status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    last_latency_ms: Mapped[int | None] = mapped_column(Integer, default=None)
    last_error: Mapped[str | None] = mapped_column(String(300), default=None)
    #: the latest checks, oldest first, for sparklines without reading the results: "12,15,!3000,~450"
    #: (latency in ms; ! a failure, ~ slower than degraded_ms)
    recent: Mapped[str] = mapped_column(String(255), default="")

    due_at: Mapped[datetime.datetime | None] = mapped_column(Moment, default=None, index=True)
    next_check_at: Mapped[datetime.datetime | None] = mapped_column(Moment, default=None)
    claimed_by: Mapped[str | None] = mapped_column(String(64), default=None)
    version: Mapped[int] = mapped_column(Integer, default=0)

    created_at: Mapped[datetime.datetime] = mapped_column(Moment)
    updated_at: Mapped[datetime.datetime] = mapped_column(Moment)


RECENT_POINTS = 30
RECENT_LENGTH = length_of(Monitor.__table__.c.recent)


def with_recent(recent: str | None, result: Any) -> str:
    """``recent`` with ``result`` added at the end, and the oldest points dropped past RECENT_POINTS, or past
    what the column holds (a heartbeat's points are run times: hours are eight digits)."""
    mark = "!" if not result.ok else "~" if result.slow else ""
    points = (recent.split(",") if recent else [])[-(RECENT_POINTS - 1) :]
    points.append(f"{mark}{result.latency_ms}")
    text = ",".join(points)
    while len(text) > RECENT_LENGTH:
        text = text.partition(",")[2]
    return text


class CheckResult(Base):
    __tablename__ = "check_results"
    __table_args__ = (Index("ix_check_results_monitor_id_id", "monitor_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    monitor_id: Mapped[int] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"))
    at: Mapped[datetime.datetime] = mapped_column(Moment, index=True)
    ok: Mapped[bool] = mapped_column(Boolean)
    slow: Mapped[bool] = mapped_column(Boolean, default=False)
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    latency_ms: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(300), default=None)


class Ping(Base):
    """A heartbeat monitor's ping, as it came: kept for the monitor page (and as long as raw results)."""

    __tablename__ = "pings"
    __table_args__ = (Index("ix_pings_monitor_id_id", "monitor_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    monitor_id: Mapped[int] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(BigInteger, server_default="0")  # its number, of its monitor's
    at: Mapped[datetime.datetime] = mapped_column(Moment, index=True)
    event: Mapped[str] = mapped_column(String(8))  # PING_EVENTS
    exit_status: Mapped[int | None] = mapped_column(Integer, default=None)
    duration_ms: Mapped[int | None] = mapped_column(Integer, default=None)  # since its /start
    method: Mapped[str] = mapped_column(String(8))
    source: Mapped[str | None] = mapped_column(String(64), default=None)  # the sender's address
    #: bounded in bytes (monitors.ping_body_bytes, at most PING_BODY_MAX): MEDIUMTEXT on MySQL, whose TEXT
    #: holds 65,535 bytes
    body: Mapped[str | None] = mapped_column(Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb"), default=None)


PING_EVENTS = ("success", "start", "fail")
PING_BODY_MAX = 100000


class WriteError(Base):
    """Something of a monitor's that the database would not store (a ping, a check's result): its owner sees
    it on the monitor's page and in the API; the rest of its batch was stored (models.writes)."""

    __tablename__ = "write_errors"
    __table_args__ = (Index("ix_write_errors_monitor_id_id", "monitor_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    monitor_id: Mapped[int] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"))
    at: Mapped[datetime.datetime] = mapped_column(Moment, index=True)
    what: Mapped[str] = mapped_column(String(10))  # "ping", "result"
    error: Mapped[str] = mapped_column(String(300))


class Incident(Base):
    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_monitor_id_ended_at", "monitor_id", "ended_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    monitor_id: Mapped[int] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"))
    started_at: Mapped[datetime.datetime] = mapped_column(Moment)
    ended_at: Mapped[datetime.datetime | None] = mapped_column(Moment, default=None)
    cause: Mapped[str] = mapped_column(String(300))


def _rollup_columns(cls: type[T]) -> type[T]:
    """checks, passes, slow, latency_sum and one counter per latency bucket (b0 ... bN)."""
    for name in ROLLUP_COUNTERS:
        setattr(cls, name, mapped_column(BigInteger if name == "latency_sum" else Integer, default=0, nullable=False))
    return cls


@_rollup_columns
class HourlyRollup(Base):
    __tablename__ = "rollups_hourly"

    monitor_id: Mapped[int] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"), primary_key=True)
    period: Mapped[datetime.datetime] = mapped_column(Moment, primary_key=True)


@_rollup_columns
class DailyRollup(Base):
    __tablename__ = "rollups_daily"

    monitor_id: Mapped[int] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"), primary_key=True)
    period: Mapped[datetime.datetime] = mapped_column(Moment, primary_key=True)
