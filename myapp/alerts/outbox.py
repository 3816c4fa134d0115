"""The outbox task: on myapp.aio's service loop, in every process, it claims due deliveries (as the
scheduler claims monitors), sends each on its own, and records each attempt as it ends.

Sharing: at most ``alerts.max_concurrency`` sends at once in a process, ``..._per_owner`` of one owner's
and ``..._per_channel`` through one channel; each attempt ends within ``alerts.attempt_seconds``.  A
receiver that never answers holds its own channel's share for that long, and nobody else's alert waits
for it."""

import asyncio
import collections
import datetime
import logging

from .. import outbound
from ..aio import loop_state
from ..identity import process_owner
from ..models import conflicts, in_session, writes
from ..models.meta import utcnow
from . import messages, sender, service
from .kinds import Sending
from .threads import SendThreads

log = logging.getLogger(__name__)

POLL = 1.0  # seconds between claims
REMIND_POLL = 5.0  # seconds between looks for reminders due (at most half the least period between them)
BATCH = 50


class Outbox:
    def __init__(self, settings, site):
        self.settings = settings
        self.site = site
        self.owner = None
        self.sent = self.failed_attempts = 0
        self.conflicts = 0  # claims and writes that lost to another process's (on Galera: another node's)
        self.owners = collections.Counter()  # user id: its deliveries being sent now
        self.channels = collections.Counter()  # channel id: likewise
        self.sending_now = 0
        #: blocking senders' threads (Apprise's services), made as they are needed
        self.threads = SendThreads(settings.apprise_threads, settings.apprise_threads_per_owner)

    async def run(self, state):
        self.owner = process_owner()
        tasks = set()
        loop = asyncio.get_running_loop()
        remind_poll, next_remind = min(REMIND_POLL, self.settings.min_remind_seconds / 2), 0.0
        try:
            while True:
                if loop.time() >= next_remind:
                    next_remind = loop.time() + remind_poll
                    await self._remind(state)
                claimed, more = await self._claim(state)
                for one in claimed:
                    self._count(one.channel, 1)
                    task = asyncio.create_task(self._deliver(state, one))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                if not (more and claimed):  # more may be due, unless all of it waits for its share
                    await asyncio.sleep(POLL)
        finally:  # what is being sent is cancelled: its claim runs out and it is sent again (at least once)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _claim(self, state):
        room = min(BATCH, self.settings.max_concurrency - self.sending_now)
        if room <= 0:
            return [], False
        sharing = service.Sharing(
            self.settings.max_concurrency_per_owner,
            self.settings.max_concurrency_per_channel,
            self.owners,
            self.channels,
        )
        try:
            claim_for = datetime.timedelta(seconds=self.settings.claim_seconds)
            return await in_session(
                state, lambda s: service.claim(s, self.owner, room, sharing, claim_for=claim_for), writes.DEADLINE
            )
        except writes.FAILURES as exc:
            self.conflicts += conflicts.failed(log, exc, "claiming deliveries")
            return [], False

    async def _remind(self, state):
        try:
            await in_session(state, service.remind, writes.DEADLINE)
        except writes.FAILURES as exc:  # another process's pass, or the next one, writes them
            self.conflicts += conflicts.failed(log, exc, "writing reminders")

    def sending(self, state):
        """What sending needs on the loop whose state this is."""
        return Sending(state.http, self.settings, self.site.public_url, state.guard, self.threads, state.names)

    async def send_test(self, channel):
        """A test message through ``channel`` (a ChannelTarget), now, on the loop this runs on (the service
        loop: myapp.on_demand), kept with the channel's deliveries; the Attempt says how it went."""
        state = loop_state()
        key = service.new_key()
        doc = messages.document(key, "test", None, utcnow(), channel=channel.name)
        attempt = await sender.send(self.sending(state), channel, doc)
        await in_session(state, lambda session: service.record_test(session, channel, key, doc, attempt))
        return attempt

    def _count(self, channel, change):
        """Count a send that starts (1) or ends (-1) against its owner's and its channel's share."""
        self.sending_now += change
        for counter, key in ((self.owners, channel.user_id), (self.channels, channel.id)):
            counter[key] += change
            if not counter[key]:
                del counter[key]

    async def _deliver(self, state, claimed):
        """Send one claimed delivery and record the attempt."""
        channel = claimed.channel
        outbound.owner.set(channel.user_id)  # this task's name lookups count against its owner's share
        try:
            attempt = await sender.send(self.sending(state), channel, claimed.document)
        finally:
            self._count(channel, -1)
        if attempt.ok:
            self.sent += 1
        else:
            self.failed_attempts += 1
            log.info(
                "delivery %s (%s to %s) failed, attempt %d: %s",
                claimed.key,
                claimed.event,
                channel.name,
                claimed.attempts + 1,
                attempt.error,
            )
        settings = self.settings

        async def finish(session, done):
            await service.finish(session, self.owner, done, settings.max_attempts, settings.backoff_seconds)

        await writes.to_the_end(self._record(state, claimed, attempt, finish))

    async def _record(self, state, claimed, attempt, finish):
        """Record the attempt (models.writes): unwritten, the claim runs out and it is sent again (at least once);
        refused, the delivery fails for good, with the reason."""
        done = await writes.write(state, [(claimed, attempt)], finish, "recording a delivery's attempt")
        self.conflicts += done.conflicts
        if done.refused:
            try:
                await in_session(state, lambda s: service.give_up(s, self.owner, claimed, done.refused[0][1]))
            except writes.FAILURES as exc:
                log.warning("delivery %s: its attempt could not be recorded: %s", claimed.key, writes.describe(exc))
