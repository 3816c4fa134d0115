"""Notification channels and the monitors that alert through them: shared by monitors (which link them) and
alerts (which send through them).  The deliveries are alerts' own (alerts/tables.py)."""

import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .meta import Base, Moment

#: what a channel may choose to be told of (channels.events; NULL: all of them).  "certificate" is a DOWN whose
#: cause is a certificate that expires soon or has expired; reminders are chosen by channels.remind_every
CHANNEL_EVENTS = ("down", "up", "degraded", "certificate")


class Channel(Base):
    __tablename__ = "channels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(10))
    target: Mapped[str] = mapped_column(String(2048))  # the webhook's URL, an e-mail address, an Apprise URL
    secret: Mapped[str | None] = mapped_column(String(200), default=None)  # signs webhook bodies (HMAC-SHA256)
    slack: Mapped[bool] = mapped_column(Boolean, default=False)  # a Slack-compatible body: {"text": ...}
    #: the events it is told of, comma-separated (CHANNEL_EVENTS); NULL: all
    events: Mapped[str | None] = mapped_column(String(60), default=None)
    #: while a monitor stays DOWN, a reminder every so many seconds; NULL: none
    remind_every: Mapped[int | None] = mapped_column(Integer, default=None)
    #: when its owner proved the address is theirs (e-mail: the link of a first mail); alerts go to it only then
    confirmed_at: Mapped[datetime.datetime | None] = mapped_column(Moment, default=None)
    confirm_hash: Mapped[str | None] = mapped_column(String(64), default=None, unique=True)  # SHA-256 of the link's
    created_at: Mapped[datetime.datetime] = mapped_column(Moment)
    updated_at: Mapped[datetime.datetime] = mapped_column(Moment)


class MonitorChannel(Base):
    """A monitor alerts through this channel."""

    __tablename__ = "monitor_channels"

    monitor_id: Mapped[int] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"), primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True, index=True)
