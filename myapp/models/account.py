"""Accounts: users, their API keys, and failed sign-ins (for throttling).  Times are UTC."""

import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .meta import Base

SCOPES = ("read", "write")


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # stored lower-cased, so the unique index makes addresses unique case-insensitively
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(80))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="user")
    # bumped when the password changes: every session signed in before that ends
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime, default=utcnow, server_default=func.now())
    updated_at: Mapped[datetime.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow, server_default=func.now())

    api_keys: Mapped[list["ApiKey"]] = relationship(back_populates="user", cascade="all, delete-orphan")


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80), default="")
    scope: Mapped[str] = mapped_column(String(8))
    prefix: Mapped[str] = mapped_column(String(16))  # the first characters, to recognise a key by
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the secret
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime, default=utcnow, server_default=func.now())
    revoked_at: Mapped[datetime.datetime | None] = mapped_column(DateTime, default=None)

    user: Mapped[User] = relationship(back_populates="api_keys")


class LoginFailure(Base):
    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_email_at", "email", "created_at"),
                      Index("ix_login_failures_address_at", "address", "created_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    address: Mapped[str] = mapped_column(String(45))  # the client's IP address
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime, default=utcnow)
