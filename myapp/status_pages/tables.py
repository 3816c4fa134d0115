"""The status pages' tables: pages, the monitors they show, and their announcements with updates."""

import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..models.meta import Base, Moment


class StatusPage(Base):
    """A public page (``/status/{slug}``) that shows chosen monitors of one user to anyone."""

    __tablename__ = "status_pages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(100))
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    show_urls: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime.datetime] = mapped_column(Moment)
    updated_at: Mapped[datetime.datetime] = mapped_column(Moment)


class StatusPageMonitor(Base):
    __tablename__ = "status_page_monitors"

    status_page_id: Mapped[int] = mapped_column(ForeignKey("status_pages.id", ondelete="CASCADE"), primary_key=True)
    monitor_id: Mapped[int] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"), primary_key=True, index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class Announcement(Base):
    """What a status page's owner tells its visitors: an incident or a notice, with its updates.  Open until an
    update resolves it (``resolved_at``)."""

    __tablename__ = "announcements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status_page_id: Mapped[int] = mapped_column(ForeignKey("status_pages.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    impact: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime.datetime] = mapped_column(Moment)
    updated_at: Mapped[datetime.datetime] = mapped_column(Moment)
    resolved_at: Mapped[datetime.datetime | None] = mapped_column(Moment, default=None)


class AnnouncementUpdate(Base):
    __tablename__ = "announcement_updates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    announcement_id: Mapped[int] = mapped_column(ForeignKey("announcements.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(15))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime.datetime] = mapped_column(Moment)
