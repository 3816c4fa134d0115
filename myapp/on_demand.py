"""Work a user asks for that reaches out to someone else's server: a check now, the monitor form's Test, an
ad-hoc probe, a channel's test message.  A slow server must not hold the site's request threads.

Such work runs on the service loop, never on the request's thread.  The request waits for it at most
``monitors.check_wait_seconds``; what takes longer goes on without it (a check now is stored, a test
message kept with the channel's deliveries) and the answer says so (202).  At most
``monitors.check_waiters`` requests of this process wait at once; a request beyond that does not wait
at all.  A user has at most ``monitors.checks_per_user`` of these in flight in a process, and what they
may start in an hour is throttled by their area (``monitors.probes_per_hour``).
"""

import asyncio
import collections
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from . import outbound
from .services import find, provide
from .settings import Field, Section

T = TypeVar("T")


class OnDemandSettings(Section):
    wait_seconds: float = Field(5, alias="monitors.check_wait_seconds", gt=0, le=60)
    per_user: int = Field(2, alias="monitors.checks_per_user", ge=1)
    waiters: int = Field(4, alias="monitors.check_waiters", ge=1)


class Busy(Exception):
    """The user has as much in flight as allowed: 429."""


class Unavailable(Exception):
    """As many requests wait as allowed, and this one cannot go on without waiting: 503."""


class NotStored(Exception):
    """The check ran, and the database refused its result (recorded on the monitor, where its owner sees it):
    422."""


class OnDemand:
    def __init__(self, settings):
        self.wait_seconds = settings.wait_seconds
        self.per_user = settings.per_user
        self._waiters = threading.BoundedSemaphore(settings.waiters)
        self._running = collections.Counter()
        self._lock = threading.Lock()

    def start(self, request, user_id, coro):
        """Run ``coro`` on the service loop for ``user_id``: a concurrent Future.  Busy when the user has
        ``per_user`` running already (``coro`` is closed, never run)."""
        with self._lock:
            if self._running[user_id] >= self.per_user:
                coro.close()
                raise Busy(f"You have {self.per_user} checks or test messages running; wait for one to finish.")
            self._running[user_id] += 1
        try:
            future = request.spawn(_for(user_id, coro))
        except BaseException:
            self._finished(user_id)
            raise
        future.add_done_callback(lambda _: self._finished(user_id))
        return future

    def _finished(self, user_id):
        with self._lock:
            self._running[user_id] -= 1
            if not self._running[user_id]:
                del self._running[user_id]

    def running(self, user_id):
        with self._lock:
            return self._running[user_id]

    async def run(
        self,
        request: Any,
        user_id: int,
        coro: Coroutine[Any, Any, T],
        count: Callable[[], Awaitable[object]],
        seconds: float | None = None,
        must_wait: bool = False,
    ) -> tuple[bool, T | None]:
        """Start ``coro`` for ``user_id`` and wait for it up to ``seconds`` (``wait_seconds``): (True, its
        result), or (False, None) when it goes on without the request.

        ``count()`` is awaited first: the user's budget (it raises when it is spent).  When as many requests
        wait as allowed, this one does not: ``coro`` is started and not waited for, or, ``must_wait`` (its
        result is all there is to it), not started at all (Unavailable)."""
        waiting, future = self._waiters.acquire(blocking=False), None
        try:
            if not waiting and must_wait:
                raise Unavailable("The server is busy with other checks; try again in a few seconds.")
            await count()
            future = self.start(request, user_id, coro)
            if not waiting:
                return False, None
            try:
                async with asyncio.timeout(self.wait_seconds if seconds is None else seconds):
                    return True, await asyncio.shield(asyncio.wrap_future(future))
            except TimeoutError:
                return False, None
        finally:
            if future is None:
                coro.close()  # never started: Python would warn of a coroutine never awaited
            if waiting:
                self._waiters.release()


async def _for(user_id, coro):
    outbound.owner.set(user_id)  # its name lookups count against the user's share
    return await coro


def includeme(config):
    provide(config.registry, OnDemand(find(config.registry, OnDemandSettings)))
