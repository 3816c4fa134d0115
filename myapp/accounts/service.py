"""What accounts can do, as coroutines over an AsyncSession.  No HTTP here."""

import dataclasses
import datetime
import hashlib
import secrets
from typing import Any

from sqlalchemy import bindparam, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ..identity import token_hash
from ..models.account import ApiKey, ThrottleHit, User, WebSession, utcnow
from ..validation import next_page

TOKEN_PREFIX = "myapp_"


class EmailTaken(Exception):
    pass


class TooMany(Exception):
    """The user has as many of something as allowed: 409."""

    def __init__(self, what, limit):
        super().__init__(f"You have {limit} {what}, the most allowed; delete one first.")
        self.what, self.limit = what, limit


class Throttled(Exception):
    def __init__(self, retry_after):
        super().__init__(f"too many attempts; try again in {retry_after} s")
        self.retry_after = retry_after


@dataclasses.dataclass(frozen=True)
class Limit:
    count: int
    window: datetime.timedelta


def bucket(kind, value):
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()


class Throttle:
    """Attempts allowed per bucket (an email, a client address) within a sliding window.

    An attempt is recorded and committed *before* it is decided.  The k-th attempt to
    commit then counts at least k rows, so however many arrive at once, across threads
    and processes, at most ``count`` of them go through.  A failure to record raises,
    and the attempt never goes through.
    """

    def __init__(self, limits):
        self.limits = limits  # {kind: Limit}

    async def record(self, session, keys):
        hits = [ThrottleHit(bucket=bucket(kind, value), created_at=utcnow()) for kind, value in keys.items()]
        session.add_all(hits)
        await session.commit()  # visible to every other attempt before this one counts
        return hits

    async def attempt(self, session: AsyncSession, keys: dict[str, Any]) -> None:
        """Record an attempt in every bucket of ``keys`` ({kind: value}); Throttled when one is over its limit."""
        hits = await self.record(session, keys)
        now = utcnow()
        for hit, kind in zip(hits, keys):
            limit = self.limits[kind]
            count, oldest = (
                await session.execute(
                    select(func.count(), func.min(ThrottleHit.created_at)).where(
                        ThrottleHit.bucket == hit.bucket, ThrottleHit.created_at > now - limit.window
                    )
                )
            ).one()
            if count > limit.count:
                await self.forget(session, hits)  # refused, not attempted: it does not count
                await session.commit()
                raise Throttled(max(1, int((oldest + limit.window - now).total_seconds()) + 1))
        return hits

    async def forget(self, session, hits, reset=None):
        """Delete these hits, and every hit of the buckets in ``reset`` ({kind: value})."""
        condition = ThrottleHit.id.in_([h.id for h in hits])
        if reset:
            condition = or_(condition, ThrottleHit.bucket.in_([bucket(k, v) for k, v in reset.items()]))
        await session.execute(delete(ThrottleHit).where(condition))

    async def prune(self, session):
        """Delete hits older than the longest window."""
        longest = max(limit.window for limit in self.limits.values())
        await session.execute(delete(ThrottleHit).where(ThrottleHit.created_at < utcnow() - longest))


async def create_user(session, passwords, email, display_name, password, role="user"):
    """A new user; EmailTaken if the (lower-cased) address is in use."""
    if await session.scalar(select(User.id).where(User.email == email)) is not None:
        raise EmailTaken(email)
    user = User(email=email, display_name=display_name, password_hash=await passwords.hash(password), role=role)
    session.add(user)
    try:
        await session.flush()
    except IntegrityError:  # a concurrent sign-up with the same address won the race
        await session.rollback()  # sign-up is the request's only write; the session stays usable
        raise EmailTaken(email) from None
    return user


async def authenticate(session, passwords, throttle, email, password, address):
    """The user whose credentials these are, or None (the failure stays counted).  Throttled when over the limit."""
    hits = await throttle.attempt(
        session, {"signin_pair": f"{email} {address}", "signin_email": email, "signin_address": address}
    )
    user = await session.scalar(select(User).where(User.email == email))
    if user is None:
        await passwords.waste_time(password)
        matches, new_hash = False, None
    else:
        matches, new_hash = await passwords.verify(user.password_hash, password)
    if not matches:
        return None
    if new_hash:
        user.password_hash = new_hash
    await throttle.forget(session, hits, reset={"signin_pair": f"{email} {address}"})
    return user


async def change_password(session, passwords, throttle, user, current, new, keep_session=None):
    """Set ``new`` as the user's password if ``current`` is it (True), else False, the failure counted:
    Throttled past ``auth.max_failures_per_email`` (a stolen session cannot guess the password freely)."""
    hits = await throttle.attempt(session, {"password_change": user.id})
    matches, _ = await passwords.verify(user.password_hash, current)
    if not matches:
        return False
    await throttle.forget(session, hits, reset={"password_change": user.id})
    await set_password(session, passwords, user, new, keep_session)
    return True


async def set_password(session, passwords, user, password, keep_session=None):
    """A new password; every session of the user ends but ``keep_session`` (the token of the one asking)."""
    user.password_hash = await passwords.hash(password)
    await end_sessions(session, user.id, keep=keep_session)
    await session.flush()


# -- browser sessions -------------------------------------------------------------


async def start_session(session, user_id, lifetime):
    """A new signed-in session; returns its secret token, for the cookie (only its SHA-256 is stored)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    await session.execute(delete(WebSession).where(WebSession.user_id == user_id, WebSession.expires_at <= now))
    session.add(WebSession(user_id=user_id, token_hash=token_hash(token), created_at=now, expires_at=now + lifetime))
    await session.flush()
    return token


#: what a request knows of its caller: the users columns it reads with the key or session, no more
users, keys, sessions = User.__table__, ApiKey.__table__, WebSession.__table__
CALLER = (users.c.id, users.c.email, users.c.display_name, users.c.role, users.c.created_at, users.c.updated_at)
# Every request reads its caller with one of these: built once, not per request
CALLER_BY_SESSION = (
    select(*CALLER)
    .join(sessions, sessions.c.user_id == users.c.id)
    .where(sessions.c.token_hash == bindparam("token_hash"), sessions.c.expires_at > bindparam("now"))
)
CALLER_BY_KEY = (
    select(*CALLER, keys.c.scope)
    .join(keys, keys.c.user_id == users.c.id)
    .where(keys.c.token_hash == bindparam("token_hash"), keys.c.revoked_at.is_(None))
)


async def user_for_session(session, token):
    """The caller's row (CALLER's columns) for a live session token, or None."""
    return (await session.execute(CALLER_BY_SESSION, {"token_hash": token_hash(token), "now": utcnow()})).first()


async def end_session(session, token):
    await session.execute(delete(WebSession).where(WebSession.token_hash == token_hash(token)))


async def end_sessions(session, user_id, keep=None):
    """Sign the user out everywhere, except the session whose token is ``keep``."""
    condition = WebSession.user_id == user_id
    if keep:
        condition &= WebSession.token_hash != token_hash(keep)
    await session.execute(delete(WebSession).where(condition))


async def count_sessions(session, user_id):
    return await session.scalar(
        select(func.count()).where(WebSession.user_id == user_id, WebSession.expires_at > utcnow())
    )


async def prune_sessions(session):
    await session.execute(delete(WebSession).where(WebSession.expires_at <= utcnow()))


async def create_api_key(session, user_id, scope, name="", limit=0):
    """(the key, its secret token).  Only the token's SHA-256 is stored: it is shown once.  TooMany when the
    user has ``limit`` active keys."""
    await check_room(session, user_id, keys, limit, "API keys", where=keys.c.revoked_at.is_(None))
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        user_id=user_id, scope=scope, name=name, prefix=token[: len(TOKEN_PREFIX) + 6], token_hash=token_hash(token)
    )
    session.add(key)
    await session.flush()
    return key, token


async def active_keys(session, user_id):
    result = await session.scalars(
        select(ApiKey).where(ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None)).order_by(ApiKey.id)
    )
    return list(result)


async def revoke_api_key(session, key):
    key.revoked_at = utcnow()
    await session.flush()


async def revoke_api_keys(session, user_id):
    """Revoke every active key of the user; how many there were."""
    result = await session.execute(
        update(ApiKey).where(ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None)).values(revoked_at=utcnow())
    )
    return result.rowcount


async def user_for_token(session, token):
    """The caller's row (CALLER's columns and the key's ``scope``) for an active key, else None."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    return (await session.execute(CALLER_BY_KEY, {"token_hash": token_hash(token)})).first()


async def list_users(session, limit, after_id=None, email_contains=None):
    """Users ordered by id, ``limit`` at a time after ``after_id``; (users, the next cursor or None)."""
    query = select(User).order_by(User.id).limit(limit + 1)
    if after_id is not None:
        query = query.where(User.id > after_id)
    if email_contains:
        query = query.where(User.email.contains(email_contains, autoescape=True))
    return next_page(list(await session.scalars(query)), limit)


# -- what a user may have -------------------------------------------------------------------------


async def lock_owner(session, user_id, fresh=False):
    """Take the user's row for this transaction: whoever counts and adds the user's things after this waits
    for this transaction to end.  An UPDATE, not a SELECT ... FOR UPDATE, because SQLite takes its write
    lock only when it writes; it changes nothing.

    ``fresh``: end what the session has read so far first (it must have written nothing), so that what it
    reads next is read after the lock (MariaDB's REPEATABLE READ keeps the snapshot of a transaction's first
    read: the caller's identity, read before the view ran)."""
    if fresh:
        await session.commit()
    await session.execute(update(users).where(users.c.id == user_id).values(id=users.c.id))


async def count_owned(session, user_id, table, where=None):
    """How many rows of ``table`` the user has (that meet ``where``), as committed now (a locking read: not
    an older snapshot that this transaction may have begun with)."""
    query = select(func.count()).select_from(table).where(table.c.user_id == user_id)
    return await session.scalar((query if where is None else query.where(where)).with_for_update(read=True))


async def check_room(session, user_id, table, limit, what, adding=1, where=None):
    """TooMany unless the user may add ``adding`` rows to ``table`` (``limit`` 0: no limit).  The user's
    row stays locked until the caller's transaction ends, so two requests at once cannot both pass."""
    if not limit:
        return
    await lock_owner(session, user_id)
    if await count_owned(session, user_id, table, where) + adding > limit:
        raise TooMany(what, limit)
