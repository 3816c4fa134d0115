"""What accounts can do, as coroutines over an AsyncSession.  No HTTP here."""

import datetime
import hashlib
import secrets

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from ..models.account import ApiKey, LoginFailure, User, utcnow

TOKEN_PREFIX = "myapp_"


class EmailTaken(Exception):
    pass


class Throttled(Exception):
    def __init__(self, retry_after):
        super().__init__(f"too many failed sign-ins; try again in {retry_after} s")
        self.retry_after = retry_after


class Throttle:
    """Failed sign-ins allowed per address and per email within a sliding window."""

    def __init__(self, per_email=5, per_address=20, window_seconds=900):
        self.per_email = per_email
        self.per_address = per_address
        self.window = datetime.timedelta(seconds=window_seconds)

    async def check(self, session, email, address):
        since = utcnow() - self.window
        for column, value, limit in ((LoginFailure.email, email, self.per_email),
                                     (LoginFailure.address, address, self.per_address)):
            count, oldest = (await session.execute(
                select(func.count(), func.min(LoginFailure.created_at)).where(column == value, LoginFailure.created_at > since)
            )).one()
            if count >= limit:
                raise Throttled(max(1, int((oldest + self.window - utcnow()).total_seconds()) + 1))

    async def failed(self, session, email, address):
        session.add(LoginFailure(email=email, address=address))
        await session.flush()

    async def succeeded(self, session, email):
        await session.execute(delete(LoginFailure).where(LoginFailure.email == email))


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
    """The user whose credentials these are, or None (the failure is recorded).  Throttled when over the limit."""
    await throttle.check(session, email, address)
    user = await session.scalar(select(User).where(User.email == email))
    if user is None:
        await passwords.waste_time(password)
        matches, new_hash = False, None
    else:
        matches, new_hash = await passwords.verify(user.password_hash, password)
    if not matches:
        await throttle.failed(session, email, address)
        return None
    if new_hash:
        user.password_hash = new_hash
    await throttle.succeeded(session, email)
    return user


async def set_password(session, passwords, user, password):
    user.password_hash = await passwords.hash(password)
    user.session_epoch += 1  # every other session of this user ends
    await session.flush()


def _token_hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


async def create_api_key(session, user_id, scope, name=""):
    """(the key, its secret token).  Only the token's SHA-256 is stored: it is shown once."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(user_id=user_id, scope=scope, name=name, prefix=token[: len(TOKEN_PREFIX) + 6],
                 token_hash=_token_hash(token))
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


async def user_for_token(session, token):
    """(user, key) for an active key, else None."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = (await session.execute(
        select(User, ApiKey).join(ApiKey.user).where(ApiKey.token_hash == _token_hash(token), ApiKey.revoked_at.is_(None))
    )).first()
    return tuple(row) if row else None


async def list_users(session, limit, after_id=None, email_contains=None):
    """Users ordered by id, ``limit`` at a time after ``after_id``; (users, the next cursor or None)."""
    query = select(User).order_by(User.id).limit(limit + 1)
    if after_id is not None:
        query = query.where(User.id > after_id)
    if email_contains:
        escaped = email_contains.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(User.email.like(f"%{escaped}%", escape="\\"))
    users = list(await session.scalars(query))
    more = len(users) > limit
    users = users[:limit]
    return users, (users[-1].id if more else None)
