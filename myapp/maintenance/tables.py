"""The maintenance windows' tables: a window, and the monitors it holds (unless it holds all of its owner's)."""

import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from ..models.meta import Base, Moment


class MaintenanceWindow(Base):
    """A time when monitors are in MAINTENANCE: every one of its owner's (``all_monitors``) or those
    in ``maintenance_window_monitors``.

    ``once``: from ``starts_at`` to ``ends_at`` (UTC).  ``weekly``: on ``days``
    ("mon,thu"), from ``start_time`` ("22:30") for ``duration_minutes``, in ``timezone``.
    """

    __tablename__ = "maintenance_windows"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    all_monitors: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: shown ahead of time on the status pages that show one of its monitors
    announce: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(10))
    starts_at: Mapped[datetime.datetime | None] = mapped_column(Moment, default=None)
    ends_at: Mapped[datetime.datetime | None] = mapped_column(Moment, default=None)
    days: Mapped[str | None] = mapped_column(String(30), default=None)
    start_time: Mapped[str | None] = mapped_column(String(5), default=None)
    duration_minutes: Mapped[int | None] = mapped_column(Integer, default=None)
    timezone: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime.datetime] = mapped_column(Moment)
    updated_at: Mapped[datetime.datetime] = mapped_column(Moment)


class MaintenanceWindowMonitor(Base):
    __tablename__ = "maintenance_window_monitors"

    window_id: Mapped[int] = mapped_column(ForeignKey("maintenance_windows.id", ondelete="CASCADE"), primary_key=True)
    monitor_id: Mapped[int] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"), primary_key=True, index=True)
