"""The outbox: deliveries and their attempts.

A delivery is written in the transaction that changes a monitor's state, so a state
change and its alerts exist together or not at all; the outbox task sends it later,
with retries, and records every attempt.  ``due_at`` is when a pending delivery is next
tried, or, while it is claimed, when the claim runs out (as for monitors).
"""

import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import Mapped, mapped_column

from ..models.meta import Base, BigId, Moment

#: what a delivery may announce
EVENTS = ("down", "up", "degraded", "storm", "reminder", "test", "confirm")
#: a document may list up to 100 monitors with their URLs: more than MySQL's TEXT (64 KB) holds
Document = Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")


class Delivery(Base):
    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_status_due_at", "status", "due_at"),
        Index("ix_deliveries_channel_id_id", "channel_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(32), unique=True)  # the idempotency key: X-Myapp-Delivery
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    monitor_id: Mapped[int | None] = mapped_column(
        ForeignKey("monitors.id", ondelete="SET NULL"), default=None, index=True
    )
    event: Mapped[str] = mapped_column(String(10))
    document: Mapped[str] = mapped_column(Document)  # the JSON document, as a webhook receives it
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending, sent, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime.datetime] = mapped_column(Moment)
    claimed_by: Mapped[str | None] = mapped_column(String(64), default=None)
    last_error: Mapped[str | None] = mapped_column(String(300), default=None)
    created_at: Mapped[datetime.datetime] = mapped_column(Moment)
    sent_at: Mapped[datetime.datetime | None] = mapped_column(Moment, default=None)


class DeliveryAttempt(Base):
    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime.datetime] = mapped_column(Moment)
    ok: Mapped[bool] = mapped_column(Boolean)
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    latency_ms: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(300), default=None)
