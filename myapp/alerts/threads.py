"""The threads of blocking senders (Apprise's services: blocking code), shared by every owner's channels.

A pool of ``alerts.apprise_threads``, of which one owner's sends take at most
``alerts.apprise_threads_per_owner`` at once.  A send counts against its owner's share until its thread is
free again, not until its caller stopped waiting: a receiver that trickles a byte every few seconds holds
its owner's share, never everyone's threads.  (The send's sockets are also cut at its deadline:
outbound.BlockingSend.)  Used on one loop, the service loop's.
"""

import asyncio
import concurrent.futures
import contextlib


class SendThreads:
    def __init__(self, size, per_owner):
        self.pool = concurrent.futures.ThreadPoolExecutor(size, thread_name_prefix="alerts-send")
        self.per_owner = per_owner
        self.shares = {}  # owner: [asyncio.Semaphore, its sends holding or waiting for a slot]

    def busy(self, owner):
        """The owner's sends in threads, or waiting for one of its slots."""
        share = self.shares.get(owner)
        return share[1] if share else 0

    async def run(self, owner, fn):
        """``fn()`` in a thread of the pool, in one of ``owner``'s slots; its result.  Cancelled, the caller
        stops waiting, and the slot stays taken until the thread is done."""
        loop = asyncio.get_running_loop()
        share = self.shares.get(owner) or self.shares.setdefault(owner, [asyncio.Semaphore(self.per_owner), 0])
        share[1] += 1
        try:
            await share[0].acquire()
        except BaseException:
            self._leave(owner, share)
            raise
        try:
            future = self.pool.submit(fn)
        except BaseException:  # the pool is shut down
            share[0].release()
            self._leave(owner, share)
            raise
        future.add_done_callback(lambda _: self._done_soon(loop, owner, share))
        return await asyncio.wrap_future(future)

    def _done_soon(self, loop, owner, share):
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody waits for the slot
            loop.call_soon_threadsafe(self._done, owner, share)

    def _done(self, owner, share):
        share[0].release()
        self._leave(owner, share)

    def _leave(self, owner, share):
        share[1] -= 1
        if not share[1] and self.shares.get(owner) is share:
            del self.shares[owner]

    def shutdown(self):
        self.pool.shutdown(wait=False, cancel_futures=True)
