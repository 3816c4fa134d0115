"""Announcements: what a status page's owner tells its visitors, an incident or a notice, and its updates.

Each update has a status; the one that says ``resolved`` closes the announcement (``resolved_at``) and one
that says anything else opens it again.  The public page shows the open ones on top and those resolved in
the last ``HISTORY_DAYS`` below its monitors.
"""

import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator
from sqlalchemy import func, select

from ..accounts.service import TooMany, check_room
from ..models.meta import utcnow
from ..validation import Invalid, Reply, fields_of, no_control_characters
from .tables import Announcement, AnnouncementUpdate, StatusPage

IMPACT_NAMES = {"none": "Notice", "minor": "Minor incident", "major": "Major incident"}
IMPACTS = tuple(IMPACT_NAMES)
STATUSES = ("investigating", "identified", "monitoring", "update", "resolved")
MAX_MESSAGE = 5000
MAX_UPDATES = 50
HISTORY_DAYS = 30
HISTORY_SHOWN = 20


def message_text(value):
    """A message keeps its line breaks (as \\n) but no other control character."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    for line in value.split("\n"):
        no_control_characters(line, "a message")
    return value


class UpdateFields(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    status: Literal[STATUSES] = Field(description="resolved closes the announcement; any other opens it")
    message: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_MESSAGE)]

    @field_validator("message")
    @classmethod
    def _message(cls, value):
        return message_text(value)


class TitleFields(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    impact: Literal[IMPACTS] = Field("minor", description="none: a notice; minor or major: an incident")

    @field_validator("title")
    @classmethod
    def _title(cls, value):
        return no_control_characters(value, "a title")


class AnnouncementFields(TitleFields, UpdateFields):
    status_page: Annotated[str, StringConstraints(max_length=60)] = Field(description="the status page's address")


class Update(Reply):
    id: int
    status: Literal[STATUSES]
    message: str
    created_at: datetime.datetime


class AnnouncementReply(Reply):
    id: int
    status_page: str
    title: str
    impact: Literal[IMPACTS]
    resolved_at: datetime.datetime | None
    created_at: datetime.datetime
    updated_at: datetime.datetime
    updates: list[Update] = Field(description="newest first")


class AnnouncementList(Reply):
    announcements: list[AnnouncementReply]
    next_cursor: str | None


def validate(model, data):
    try:
        return model.model_validate(data).model_dump()
    except ValidationError as exc:
        raise Invalid(fields_of(exc)) from None


async def post(session, user_id, page, fields, limit=0, now=None):
    """A new announcement on ``page`` with its first update; TooMany when the user has ``limit`` already."""
    await check_room(session, user_id, Announcement.__table__, limit, "announcements")
    now = now or utcnow()
    announcement = Announcement(
        user_id=user_id,
        status_page_id=page.id,
        title=fields["title"],
        impact=fields["impact"],
        created_at=now,
        updated_at=now,
    )
    session.add(announcement)
    await session.flush()
    await add_update(session, announcement, fields, now)
    return announcement


async def add_update(session, announcement, fields, now=None):
    """One more update; TooMany past ``MAX_UPDATES``."""
    count = await session.scalar(select(func.count()).where(AnnouncementUpdate.announcement_id == announcement.id))
    if count >= MAX_UPDATES:
        raise TooMany("updates on this announcement", MAX_UPDATES)
    now = now or utcnow()
    session.add(
        AnnouncementUpdate(
            announcement_id=announcement.id, status=fields["status"], message=fields["message"], created_at=now
        )
    )
    announcement.resolved_at = now if fields["status"] == "resolved" else None
    announcement.updated_at = now
    await session.flush()


def retitle(announcement, fields, now=None):
    announcement.title, announcement.impact = fields["title"], fields["impact"]
    announcement.updated_at = now or utcnow()


async def updates_of(session, announcements):
    """{announcement id: [its updates, newest first]}."""
    found = {a.id: [] for a in announcements}
    if found:
        for update in await session.scalars(
            select(AnnouncementUpdate)
            .where(AnnouncementUpdate.announcement_id.in_(found))
            .order_by(AnnouncementUpdate.id.desc())
        ):
            found[update.announcement_id].append(update)
    return found


async def page_of(session, user_id, limit, after_id=None):
    """The user's announcements by id with their pages' slugs: ([(announcement, slug)], next cursor or None)."""
    query = (
        select(Announcement, StatusPage.slug)
        .join(StatusPage, StatusPage.id == Announcement.status_page_id)
        .where(Announcement.user_id == user_id)
        .order_by(Announcement.id)
        .limit(limit + 1)
    )
    if after_id is not None:
        query = query.where(Announcement.id > after_id)
    rows = (await session.execute(query)).all()
    return rows[:limit], rows[limit - 1][0].id if len(rows) > limit else None


async def of_page(session, page_id, now=None):
    """(open announcements, the last ``HISTORY_SHOWN`` resolved in the last ``HISTORY_DAYS``) of a status page,
    newest first."""
    query = select(Announcement).where(Announcement.status_page_id == page_id).order_by(Announcement.id.desc())
    opened = list(await session.scalars(query.where(Announcement.resolved_at.is_(None))))
    since = (now or utcnow()) - datetime.timedelta(days=HISTORY_DAYS)
    resolved = query.where(Announcement.resolved_at > since).limit(HISTORY_SHOWN)
    return opened, list(await session.scalars(resolved))


async def slug_of(session, announcement):
    return await session.scalar(select(StatusPage.slug).where(StatusPage.id == announcement.status_page_id))


async def own_page(session, user_id, slug):
    page = await session.scalar(select(StatusPage).where(StatusPage.slug == slug, StatusPage.user_id == user_id))
    if page is None:
        raise Invalid({"status_page": f"you have no status page at /status/{slug}"})
    return page
